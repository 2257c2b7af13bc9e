"""Which service may call which method of which other service, with which rights: the one allowlist.

A service token names its caller (`svc`) and its callee (`aud`: `crm-<service>`) and carries no rights
of its own (`crm_platform.auth`). The callee's interceptor (`crm_platform.rpc`) lets a service token
through only for a method listed here for its caller, and the call runs with exactly the rights listed
with that method. A user's rights travel only in the user's own access token, which services forward
when they call each other on the user's behalf.

Background work is the only user of service tokens: automation creating the tasks a process asks for
(acting for the user whose change started the run), and records reading stages and users for its
caches outside a user's request (its consumer).
"""

from __future__ import annotations

from typing import Mapping

# callee -> caller -> full method -> the permissions the call runs with
SERVICE_CALLS: Mapping[str, Mapping[str, Mapping[str, frozenset[str]]]] = {
    "records": {
        "automation": {
            "/crm.records.v1.RecordsService/CreateTask": frozenset(),
            "/crm.records.v1.RecordsService/CreateTasks": frozenset(),
        },
    },
    "pipeline": {
        "records": {
            "/crm.pipeline.v1.PipelineService/GetFunnel": frozenset(),
            "/crm.pipeline.v1.PipelineService/GetStageContext": frozenset(),
            "/crm.pipeline.v1.PipelineService/GetDefaultStage": frozenset(),
        },
    },
    "identity": {
        "records": {
            "/crm.identity.v1.DirectoryService/BatchGetUsers": frozenset(),
            # who takes over a deactivated user's open work (records' consumer: the company's administrators)
            "/crm.identity.v1.DirectoryService/ListRoles": frozenset(),
            "/crm.identity.v1.DirectoryService/ListUsers": frozenset(),
        },
    },
    "automation": {},
    "billing": {},
}


def grants(callee: str, caller: str, method: str) -> frozenset[str] | None:
    """The rights a call of `method` by service `caller` runs with in `callee`; None: not allowed."""
    return SERVICE_CALLS.get(callee, {}).get(caller, {}).get(method)
