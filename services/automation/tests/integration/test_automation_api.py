"""Automation's gRPC API as `python -m crm_automation api` builds it (settings, `runtime.grpc_server`,
idempotency keys) on a free 127.0.0.1 port, over the real database, with the real pipeline and records
processes behind it and callers signed up at the real identity: process definitions, who may change
them, the references checked with pipeline and records, and the runs' pages."""

from __future__ import annotations

import base64
import datetime as _dt
import json
import uuid

import grpc
import pytest
from sqlalchemy import func, select

from automation_neighbours import Company
from automation_support import UTC, rpc_error_code
from crm.automation.v1 import automation_service_pb2 as pb
from crm.automation.v1 import automation_service_pb2_grpc as pb_grpc
from crm_automation import __main__ as main
from crm_automation.adapters.orm import PLATFORM, Process, ProcessRun
from crm_automation.config import AutomationSettings
from crm_platform.config import load
from crm_platform.db import rfc3339
from crm_platform.errors import decode_error
from tests.support.infra import free_port


@pytest.fixture(scope="module")
def api(db, database_url, neighbours, keys):
    port = free_port()
    settings = load(AutomationSettings, "AUTOMATION", {
        "AUTOMATION_DATABASE_URL": database_url, "AUTOMATION_GRPC_BIND": f"127.0.0.1:{port}",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "AUTH_PUBLIC_KEY": keys["access_public"],
        "SERVICE_TOKEN_PUBLIC_KEY": keys["service_public"], "SERVICE_TOKEN_PRIVATE_KEY": keys["service_private"],
        "RECORDS_GRPC_ADDR": neighbours.records.address, "PIPELINE_GRPC_ADDR": neighbours.pipeline.address,
        "AUTOMATION_RPC_TIMEOUT_SECONDS": "2", "AUTOMATION_GRPC_WORKERS": "4"})
    [component] = main.api(settings, db)
    component.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield pb_grpc.ProcessServiceStub(channel)
    channel.close()
    component.stop()


class Caller:
    """Calls the API with one user's token."""

    def __init__(self, stub, token: str, company_id: str, user_id: str):
        self.stub, self.token, self.company_id, self.user_id = stub, token, company_id, user_id

    def __call__(self, method: str, request, key: str | None = None):
        md = [("authorization", f"Bearer {self.token}")] + ([("idempotency-key", key)] if key else [])
        return getattr(self.stub, method)(request, timeout=10, metadata=md)

    def refused(self, method: str, request) -> tuple[grpc.StatusCode, str, grpc.RpcError]:
        with pytest.raises(grpc.RpcError) as caught:
            self(method, request)
        return caught.value.code(), rpc_error_code(caught.value), caught.value


@pytest.fixture
def callers(api, company) -> tuple[Caller, Caller]:
    """(admin, manager) of a freshly signed-up company: its first admin, and a user whose role has no rights."""
    manager_id, manager_token = company.add_user()
    return (Caller(api, company.token, company.id, company.admin_id),
            Caller(api, manager_token, company.id, manager_id))


@pytest.fixture(scope="module")
def other_company(neighbours) -> Company:
    """Another company, signed up too."""
    return Company(neighbours)


def process_input(**overrides) -> pb.ProcessInput:
    trigger = overrides.pop("trigger", {"event": "deal.created"})
    conditions = overrides.pop("conditions", {})
    base = dict(name=" Follow up ", type="task", due="today", assignee="author", task_type="call", comment="Call",
                enabled=True)
    return pb.ProcessInput(trigger=pb.Trigger(**trigger), conditions=pb.Conditions(**conditions), **{**base, **overrides})


def test_admins_write_processes_everyone_reads_them_and_only_in_their_company(callers, other_company, api):
    admin, manager = callers
    code, error, _ = manager.refused("CreateProcess", pb.CreateProcessRequest(process=process_input()))
    assert (code, error) == (grpc.StatusCode.PERMISSION_DENIED, "forbidden")
    created = admin("CreateProcess", pb.CreateProcessRequest(process=process_input())).process
    assert (created.name, created.trigger.event, created.author_id, created.enabled) == \
        ("Follow up", "deal.created", admin.user_id, True)
    assert created.created_at.endswith("Z") and created.created_at == created.updated_at
    assert [p.id for p in manager("ListProcesses", pb.ListProcessesRequest()).processes] == [created.id]
    assert manager("GetProcess", pb.GetProcessRequest(id=created.id)).process == created

    changed = process_input(due="week", assignee="responsible", comment="Meet", enabled=False)
    code, error, _ = manager.refused("UpdateProcess", pb.UpdateProcessRequest(id=created.id, process=changed))
    assert (code, error) == (grpc.StatusCode.PERMISSION_DENIED, "forbidden")
    updated = admin("UpdateProcess", pb.UpdateProcessRequest(id=created.id, process=changed)).process
    assert (updated.due, updated.assignee, updated.comment, updated.enabled) == ("week", "responsible", "Meet", False)
    assert updated.created_at == created.created_at and updated.updated_at >= created.updated_at

    stranger = Caller(api, other_company.token, other_company.id, other_company.admin_id)  # another company's admin
    assert stranger.refused("GetProcess", pb.GetProcessRequest(id=created.id))[:2] == \
        (grpc.StatusCode.NOT_FOUND, "process_not_found")
    assert stranger("ListProcesses", pb.ListProcessesRequest()).processes == []

    assert manager.refused("DeleteProcess", pb.DeleteProcessRequest(id=created.id))[0] == \
        grpc.StatusCode.PERMISSION_DENIED
    admin("DeleteProcess", pb.DeleteProcessRequest(id=created.id))
    assert admin.refused("GetProcess", pb.GetProcessRequest(id=created.id))[:2] == \
        (grpc.StatusCode.NOT_FOUND, "process_not_found")
    assert admin("ListProcesses", pb.ListProcessesRequest()).processes == []
    assert admin.refused("DeleteProcess", pb.DeleteProcessRequest(id=created.id))[1] == "process_not_found"


def test_references_are_checked_with_pipeline_and_records_and_nothing_is_saved(callers, company, other_company, db):
    admin, _ = callers
    deal_funnel, deal_stages = company.funnels["deal"]  # the company's own, as pipeline seeded them
    client_funnel, client_stages = company.funnels["client"]
    foreign_funnel, foreign_stages = other_company.funnels["deal"]
    on_stage = {"event": "deal.stage_changed", "stage_id": deal_stages[0]}
    cases = [
        ({"trigger": {"event": "deal.stage_changed", "stage_id": str(uuid.uuid4())}},
         {"trigger.stage_id": "unknown_reference"}),
        ({"trigger": {"event": "deal.stage_changed", "stage_id": foreign_stages[0]}},
         {"trigger.stage_id": "unknown_reference"}),
        ({"trigger": {"event": "deal.stage_changed", "stage_id": client_stages[0]}},
         {"trigger.stage_id": "wrong_entity"}),
        ({"trigger": on_stage, "conditions": {"funnel_id": client_funnel}}, {"conditions.funnel_id": "wrong_entity"}),
        ({"trigger": on_stage, "conditions": {"funnel_id": foreign_funnel}},
         {"conditions.funnel_id": "unknown_reference"}),
        ({"conditions": {"funnel_id": str(uuid.uuid4())}}, {"conditions.funnel_id": "unknown_reference"}),
        ({"task_type": "no-such-type"}, {"task_type": "unknown_reference"}),
        ({"due": "yesterday", "comment": ""}, {"due": "invalid_choice", "comment": "required"}),
    ]
    for overrides, expected in cases:
        code, error, exc = admin.refused("CreateProcess", pb.CreateProcessRequest(process=process_input(**overrides)))
        fields = {f["field"]: f["code"] for f in decode_error(exc.trailing_metadata())["details"]["fields"]}
        assert (code, error, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_failed", expected), overrides
    good = admin("CreateProcess", pb.CreateProcessRequest(process=process_input(
        trigger=on_stage, conditions={"funnel_id": deal_funnel, "stage_group": "in_progress"},
        task_type="email"))).process
    assert (good.trigger.stage_id, good.conditions.funnel_id, good.task_type) == (deal_stages[0], deal_funnel, "email")
    with db.session(company_id=admin.company_id) as s:
        assert s.execute(select(func.count()).select_from(Process)).scalar() == 1


def test_records_not_telling_the_task_types_skips_that_check_and_pipeline_down_is_unavailable(
        callers, company, neighbours, db):
    admin, _ = callers
    with neighbours.down("records", "pipeline"):
        made = admin("CreateProcess", pb.CreateProcessRequest(process=process_input(task_type="own-type"))).process
        assert made.task_type == "own-type"
        code, error, _ = admin.refused("CreateProcess", pb.CreateProcessRequest(process=process_input(
            trigger={"event": "deal.stage_changed", "stage_id": company.funnels["deal"][1][0]})))
        # the stage cannot be checked now: 503 service_unavailable (try again), not a 500
        assert (code, error) == (grpc.StatusCode.UNAVAILABLE, "service_unavailable")
    with db.session(company_id=admin.company_id) as s:
        assert s.execute(select(func.count()).select_from(Process)).scalar() == 1
    code, _, exc = admin.refused("CreateProcess", pb.CreateProcessRequest(process=process_input(
        task_type="own-type")))  # records, up again, tells its types
    assert (code, decode_error(exc.trailing_metadata())["details"]["fields"]) == \
        (grpc.StatusCode.INVALID_ARGUMENT, [{"field": "task_type", "code": "unknown_reference", "params": {}}])


def test_a_retried_write_with_the_same_idempotency_key_is_done_once(callers, db):
    admin, _ = callers
    request = pb.CreateProcessRequest(process=process_input())
    first = admin("CreateProcess", request, key="k-1").process
    again = admin("CreateProcess", request, key="k-1").process
    assert again == first
    with db.session(company_id=admin.company_id) as s:
        assert s.execute(select(func.count()).select_from(Process)).scalar() == 1
        keys = PLATFORM["idempotency_keys"]
        assert s.execute(select(keys.c.user_id).where(keys.c.company_id == admin.company_id)).scalars().all() == \
            [admin.user_id]
    with pytest.raises(grpc.RpcError) as caught:  # the same key with another body
        admin("CreateProcess", pb.CreateProcessRequest(process=process_input(comment="Other")), key="k-1")
    assert rpc_error_code(caught.value) == "idempotency_key_reused"
    admin("DeleteProcess", pb.DeleteProcessRequest(id=first.id), key="k-2")
    admin("DeleteProcess", pb.DeleteProcessRequest(id=first.id), key="k-2")  # replayed, not process_not_found
    second = admin("CreateProcess", request, key="k-3").process  # a new key is a new process
    assert second.id != first.id


def add_runs(db, company_id: str, process_id: str, times: list[_dt.datetime]) -> list[ProcessRun]:
    with db.session(company_id=company_id, write=True) as s:
        rows = [ProcessRun(id=str(uuid.uuid4()), process_id=process_id, event_id=str(uuid.uuid4()),
                           event="deal.created", record_type="deal", record_id=str(uuid.uuid4()), outcome="succeeded",
                           task_id=str(uuid.uuid4()), error="", attempts=1, created_at=at, finished_at=at)
                for at in times]
        s.add_all(rows)
    return rows


def test_runs_are_paged_newest_first_by_cursor(callers, db):
    admin, manager = callers
    p = admin("CreateProcess", pb.CreateProcessRequest(process=process_input())).process
    other = admin("CreateProcess", pb.CreateProcessRequest(process=process_input())).process
    t0 = _dt.datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    times = [t0 + _dt.timedelta(microseconds=i) for i in range(4)] + [t0] * 3  # ties: ordered by id
    made = add_runs(db, admin.company_id, p.id, times)
    add_runs(db, admin.company_id, other.id, [t0 + _dt.timedelta(hours=1)])
    expected = [r.id for r in sorted(made, key=lambda r: (r.created_at, r.id), reverse=True)]

    seen, cursor, pages = [], "", 0
    while True:
        page = manager("ListProcessRuns", pb.ListProcessRunsRequest(process_id=p.id, limit=3, cursor=cursor))
        seen += [r.id for r in page.runs]
        pages += 1
        assert len(page.runs) == 3 or not page.next_cursor
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected and pages == 3
    everything = manager("ListProcessRuns", pb.ListProcessRunsRequest(process_id=p.id)).runs  # limit 0: default
    assert [r.id for r in everything] == expected
    first = everything[-1]
    assert (first.process_id, first.outcome, first.attempts, first.created_at) == \
        (p.id, "succeeded", 1, rfc3339(t0))


def test_a_cursor_that_is_not_one_of_this_list_is_invalid(callers, db):
    admin, _ = callers
    p = admin("CreateProcess", pb.CreateProcessRequest(process=process_input())).process
    add_runs(db, admin.company_id, p.id, [_dt.datetime(2026, 3, 1, tzinfo=UTC)] * 3)
    cursor = admin("ListProcessRuns", pb.ListProcessRunsRequest(process_id=p.id, limit=1)).next_cursor
    assert cursor
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))

    def encoded(value) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    old_format = base64.urlsafe_b64encode(b"2026-03-01T00:00:00+00:00|" + p.id.encode()).decode().rstrip("=")
    for bad in ("!!!", "bm90IGpzb24", old_format, encoded({**data, "s": "created_at"}),
                encoded({**data, "v": "yesterday"}), encoded({**data, "v": 5}), encoded({**data, "i": 7})):
        code, error, _ = admin.refused("ListProcessRuns", pb.ListProcessRunsRequest(process_id=p.id, cursor=bad))
        assert (code, error) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_cursor"), bad
    assert admin.refused("ListProcessRuns", pb.ListProcessRunsRequest(process_id=str(uuid.uuid4())))[:2] == \
        (grpc.StatusCode.NOT_FOUND, "process_not_found")
