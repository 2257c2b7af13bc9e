"""gRPC calls to automation, one function each, each with a deadline."""

from __future__ import annotations

from crm.automation.v1 import automation_service_pb2 as apb
from crm.automation.v1 import automation_service_pb2_grpc as agrpc
from crm_gateway.clients import call, register_backend, stub

SERVICE = "crm.automation.v1.ProcessService"
register_backend("automation", (SERVICE,),
                 idempotent=[(SERVICE, m) for m in ("ListProcesses", "GetProcess", "ListProcessRuns")])


def _stub() -> agrpc.ProcessServiceStub:
    return stub("automation", agrpc.ProcessServiceStub)


def process_input(d: dict) -> apb.ProcessInput:
    return apb.ProcessInput(name=d.get("name") or "", type=d["type"],
                            trigger=apb.Trigger(event=d["trigger"]["event"],
                                                stage_id=d["trigger"].get("stage_id") or ""),
                            conditions=apb.Conditions(funnel_id=(d.get("conditions") or {}).get("funnel_id") or "",
                                                      stage_group=(d.get("conditions") or {}).get("stage_group")
                                                      or ""),
                            due=d["due"], assignee=d["assignee"], task_type=d["task_type"], comment=d["comment"],
                            enabled=d["enabled"])


def list_processes() -> apb.ListProcessesResponse:
    return call(_stub().ListProcesses, apb.ListProcessesRequest())


def get_process(process_id: str) -> apb.GetProcessResponse:
    return call(_stub().GetProcess, apb.GetProcessRequest(id=process_id))


def create_process(d: dict) -> apb.CreateProcessResponse:
    return call(_stub().CreateProcess, apb.CreateProcessRequest(process=process_input(d)), timeout=5)


def update_process(process_id: str, d: dict) -> apb.UpdateProcessResponse:
    return call(_stub().UpdateProcess, apb.UpdateProcessRequest(id=process_id, process=process_input(d)), timeout=5)


def delete_process(process_id: str) -> None:
    call(_stub().DeleteProcess, apb.DeleteProcessRequest(id=process_id))


def list_runs(process_id: str, limit: int, cursor: str) -> apb.ListProcessRunsResponse:
    return call(_stub().ListProcessRuns, apb.ListProcessRunsRequest(process_id=process_id, limit=limit,
                                                                   cursor=cursor))
