"""Calls automation makes: pipeline (check a process's stage and funnel) and records (create the task).

This is the only module of automation that sees gRPC: its failures become the service's own errors
(`records_error` is the mapping), so the service layer decides what to do with a refused task, an
unreachable records or a broken pipeline without knowing how they were called.
"""

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
from crm_platform.auth import TokenSigner
from crm_platform.db import rfc3339
from crm_platform.errors import Unavailable, decode_error
from crm_platform.faults import TRANSIENT_GRPC_CODES
from crm_platform.messaging import Retryable
from crm_platform.rpc import call_metadata, make_channel, service_config
from crm_automation.domain.model import NewTask

# Records did not answer: the consumer waits (retries the event), a run is never failed for that.
TRANSIENT = TRANSIENT_GRPC_CODES


class RecordsError(Exception):
    """A call to records failed."""


class RecordsUnavailable(RecordsError, Retryable):
    """Records did not answer (down, too slow, overloaded): retry the event until it does."""


class TaskRefused(RecordsError):
    """Records answered and refused the task; `reason` is its error code and what it said."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class PipelineFailed(Exception):
    """Pipeline failed otherwise than with "no such stage/funnel" or being unavailable (that one is
    `Unavailable`, HTTP 503): the call cannot be answered.

    Not an AppError: the API answers it as an internal error, as it did when the RpcError itself
    reached the interceptor."""


def refusal(body: dict | None, code: str = "", message: str = "") -> str:
    """A refused task's error text: records' error code and what it says (its details, else its message)."""
    body = body or {}
    return f"{body.get('code', code)}: {body.get('details') or body.get('message') or message}"


def records_error(exc: grpc.RpcError) -> RecordsError:
    """The service's error for a failed records call: unavailable (retry) or the task refused (final)."""
    code = exc.code()
    if code in TRANSIENT:
        return RecordsUnavailable(f"records: {code.name}")
    return TaskRefused(refusal(decode_error(exc.trailing_metadata()), code.name, exc.details()))


def task_request(task: NewTask) -> rpb.CreateTaskRequest:
    """Records' request for the task a process makes."""
    return rpb.CreateTaskRequest(
        type=task.type, comment=task.comment, due_at=rfc3339(task.due_at), responsible_id=task.responsible_id,
        deal_id=task.deal_id, client_id=task.client_id, idempotency_key=task.idempotency_key,
        process_id=task.process_id)


class Pipeline:
    """Look up stages and funnels with the caller's own token."""

    def __init__(self, address: str, timeout: float):
        svc = "crm.pipeline.v1.PipelineService"
        self.stub = pgrpc.PipelineServiceStub(make_channel(address, service_config(
            [svc], [(svc, "GetStageContext"), (svc, "GetFunnel")])))
        self.timeout = timeout

    def _get(self, method, request, token: str):
        """The answer, None when pipeline has no such thing in the caller's company."""
        try:
            return method(request, timeout=self.timeout, metadata=call_metadata(token), wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            if exc.code() in TRANSIENT:  # down or slow: the caller may try again (HTTP 503)
                raise Unavailable("service_unavailable", f"pipeline did not answer: {exc.code().name}") from exc
            raise PipelineFailed(f"pipeline: {exc.code().name}: {exc.details()}") from exc

    def stage(self, token: str, stage_id: str) -> tuple[str, str] | None:
        """(funnel id, entity) of a stage of the caller's company, None when there is no such stage."""
        resp = self._get(self.stub.GetStageContext, ppb.GetStageContextRequest(stage_id=stage_id), token)
        return None if resp is None else (resp.stage.funnel_id, resp.entity)

    def funnel_entity(self, token: str, funnel_id: str) -> str | None:
        """Entity of a funnel of the caller's company, None when there is no such funnel."""
        resp = self._get(self.stub.GetFunnel, ppb.GetFunnelRequest(id=funnel_id), token)
        return None if resp is None else resp.funnel.entity


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
            token = self.signer.sign_service(caller="automation", callee="records", company_id=company_id,
                                             user_id=user_id, ttl=_dt.timedelta(minutes=5))
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[key] = (token, time.monotonic() + 240)
            return token

    def create_task(self, company_id: str, acting_user: str, task: NewTask) -> str:
        """Create the task (once per idempotency key) and return its id.

        Raises RecordsUnavailable (retry) or TaskRefused (records' answer is final)."""
        try:
            resp = self.stub.CreateTask(task_request(task), timeout=self.timeout, wait_for_ready=True,
                                        metadata=call_metadata(self._token(company_id, acting_user)))
        except grpc.RpcError as exc:
            raise records_error(exc) from exc
        return resp.task.id

    def create_tasks(self, company_id: str, acting_user: str, tasks: list[NewTask]) -> list[tuple[str, str]]:
        """Create many tasks in one call; per task (its id, '') or ('', why records refused it).

        The call itself failing raises RecordsUnavailable or TaskRefused, as `create_task` does."""
        try:
            resp = self.stub.CreateTasks(rpb.CreateTasksRequest(tasks=[task_request(t) for t in tasks]),
                                         timeout=self.timeout, wait_for_ready=True,
                                         metadata=call_metadata(self._token(company_id, acting_user)))
        except grpc.RpcError as exc:
            raise records_error(exc) from exc
        return [(r.task_id, refusal(json.loads(r.error_json)) if r.error_json else "") for r in resp.results]

    def task_type_keys(self, token: str) -> set[str] | None:
        """The task type keys of the caller's company (None when records cannot tell)."""
        try:
            resp = self.stub.ListTaskTypes(rpb.ListTaskTypesRequest(), timeout=self.timeout,
                                           metadata=call_metadata(token), wait_for_ready=True)
        except grpc.RpcError:
            return None
        return {t.key for t in resp.types}
