"""Calls automation makes: pipeline (check a process's stage and funnel) and records (create the task)."""

from __future__ import annotations

import datetime as _dt
import json
import threading
import time

import grpc

from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm.records.v1 import records_service_pb2 as rpb
from crm.records.v1 import records_service_pb2_grpc as rgrpc
from crm_platform.auth import SERVICE, TokenSigner
from crm_platform.rpc import call_metadata, make_channel, service_config

class Pipeline:
    """Look up stages and funnels with the caller's own token."""

    def __init__(self, address: str, timeout: float):
        svc = "crm.pipeline.v1.PipelineService"
        self.stub = pgrpc.PipelineServiceStub(make_channel(address, service_config(
            [svc], [(svc, "GetStageContext"), (svc, "GetFunnel")])))
        self.timeout = timeout

    def stage(self, token: str, stage_id: str) -> tuple[str, str] | None:
        """(funnel id, entity) of a stage of the caller's company, None when there is no such stage."""
        try:
            resp = self.stub.GetStageContext(ppb.GetStageContextRequest(stage_id=stage_id), timeout=self.timeout,
                                             metadata=call_metadata(token), wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return resp.stage.funnel_id, resp.entity

    def funnel_entity(self, token: str, funnel_id: str) -> str | None:
        """Entity of a funnel of the caller's company, None when there is no such funnel."""
        try:
            resp = self.stub.GetFunnel(ppb.GetFunnelRequest(id=funnel_id), timeout=self.timeout,
                                       metadata=call_metadata(token), wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return resp.funnel.entity


class Records:
    """Create tasks in records, acting with a service token that names the company and the acting user."""

    def __init__(self, address: str, signer: TokenSigner, timeout: float):
        svc = "crm.records.v1.RecordsService"
        # CreateTask(s) are retried on UNAVAILABLE: they carry idempotency keys, so a retry never doubles.
        self.stub = rgrpc.RecordsServiceStub(make_channel(address, service_config(
            [svc], [(svc, "CreateTask"), (svc, "CreateTasks")])))
        self.signer = signer
        self.timeout = timeout
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _token(self, company_id: str, user_id: str) -> str:
        key = (company_id, user_id)
        with self._lock:
            token, until = self._tokens.get(key, ("", 0.0))
            if until > time.monotonic():
                return token
            token = self.signer.sign(typ=SERVICE, company_id=company_id, user_id=user_id,
                                     ttl=_dt.timedelta(minutes=5), extra={"svc": "automation"})
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[key] = (token, time.monotonic() + 240)
            return token

    def create_task(self, company_id: str, acting_user: str, request: rpb.CreateTaskRequest) -> str:
        """Create the task (once per idempotency key) and return its id."""
        resp = self.stub.CreateTask(request, timeout=self.timeout, wait_for_ready=True,
                                    metadata=call_metadata(self._token(company_id, acting_user)))
        return resp.task.id

    def create_tasks(self, company_id: str, acting_user: str,
                     requests: list[rpb.CreateTaskRequest]) -> list[tuple[str, str]]:
        """Create many tasks in one call; per task (its id, '') or ('', why records refused it)."""
        resp = self.stub.CreateTasks(rpb.CreateTasksRequest(tasks=requests), timeout=self.timeout,
                                     wait_for_ready=True, metadata=call_metadata(self._token(company_id, acting_user)))
        return [(r.task_id, refusal(json.loads(r.error_json)) if r.error_json else "") for r in resp.results]


def refusal(body: dict | None, code: str = "", message: str = "") -> str:
    """A refused task's error text: records' error code and what it says (its details, else its message)."""
    body = body or {}
    return f"{body.get('code', code)}: {body.get('details') or body.get('message') or message}"


def task_type_keys(records: Records, token: str) -> set[str] | None:
    """The task type keys of the caller's company (None when records cannot tell)."""
    try:
        resp = records.stub.ListTaskTypes(rpb.ListTaskTypesRequest(), timeout=records.timeout,
                                          metadata=call_metadata(token), wait_for_ready=True)
    except grpc.RpcError:
        return None
    return {t.key for t in resp.types}
