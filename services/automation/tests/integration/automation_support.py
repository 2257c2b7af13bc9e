"""Helpers of automation's integration tests (the fixtures are in conftest.py, the real neighbours in
automation_neighbours.py)."""

from __future__ import annotations

import datetime as _dt
import uuid

import grpc
from sqlalchemy import select

from crm.automation.events.v1 import automation_events_pb2 as aev
from crm_automation.adapters.orm import PLATFORM
from crm_automation.domain import model
from crm_platform.errors import decode_error

RUN_ATTEMPTS = 3
UTC = _dt.timezone.utc


def definition(**overrides) -> model.Definition:
    base = dict(name="Follow up", type="task", trigger_event="deal.created", trigger_stage_id="", funnel_id="",
                stage_group="", due="today", assignee="responsible", task_type="call", comment="Call them",
                enabled=True)
    return model.Definition(**{**base, **overrides})


def record_event(deal=None, **overrides) -> model.RecordEvent:
    """A deal event as the consumer reads it; about `deal` (records' Deal) when given."""
    base = dict(event_id=str(uuid.uuid4()), event="deal.created", record_type="deal", record_id=str(uuid.uuid4()),
                funnel_id="", stage_id="", stage_group="unprocessed", responsible_id=str(uuid.uuid4()),
                occurred_at=_dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC), automated=False)
    if deal is not None:
        base.update(record_id=deal.id, funnel_id=deal.funnel_id, stage_id=deal.stage_id,
                    responsible_id=deal.responsible_id)
    return model.RecordEvent(**{**base, **overrides})


def announced(db, company_id: str) -> list[tuple[dict, aev.ProcessRunFinished]]:
    """The outbox rows of a company, oldest first, with their decoded ProcessRunFinished."""
    outbox = PLATFORM["outbox"]
    with db.session() as s:
        rows = s.execute(select(outbox).where(outbox.c.company_id == company_id).order_by(outbox.c.id)).mappings().all()
    return [(dict(r), aev.ProcessRunFinished.FromString(r["payload"])) for r in rows]


def rpc_error_code(exc: grpc.RpcError) -> str:
    """The application error code in a failed call's trailer."""
    body = decode_error(exc.trailing_metadata()) or {}
    return body.get("code", "")
