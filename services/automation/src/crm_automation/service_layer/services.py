"""Automation use cases: process definitions (admin) and running them on record events."""

from __future__ import annotations

import base64
import datetime as _dt
import logging
import uuid

import grpc

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crm.automation.events.v1 import automation_events_pb2 as aev
from crm.records.events.v1 import records_events_pb2 as rev
from crm.records.v1 import records_service_pb2 as rpb
from crm_platform.context import Principal
from crm_platform.db import Database, in_chunks, rfc3339, utcnow
from crm_platform.errors import InvalidArgument, NotFound, PermissionDenied, decode_error
from crm_platform.messaging import Retryable
from crm_platform.outbox import add_events, event_row
from crm_automation.adapters.clients import Pipeline, Records, refusal, task_type_keys
from crm_automation.adapters.orm import OUTBOX, Company, Process, ProcessRun
from crm_automation.domain import model

log = logging.getLogger(__name__)

RUN_TOPIC = "crm.automation.run.v1"
# Records did not answer: wait (the event is retried), never mark the run failed for that.
TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED)
TOPICS = (RUN_TOPIC,)
TASK_BATCH = 500  # records' CreateTasks limit


class RunRefused(Exception):
    """Records refused a run's task (the consumer retries the event, then parks it)."""


class AutomationService:
    """Process definitions and the runner."""

    def __init__(self, db: Database, pipeline: Pipeline, records: Records, run_attempts: int = 5):
        self.db = db
        self.pipeline = pipeline
        self.records = records
        self.run_attempts = run_attempts

    # ---- definitions ----------------------------------------------------------------------
    @staticmethod
    def _require_admin(principal: Principal) -> None:
        if not principal.can("manage_processes"):
            raise PermissionDenied("forbidden", "Your role does not allow this", permission="manage_processes")

    def _validate(self, principal: Principal, d: model.Definition) -> None:
        errors = model.check_definition(d)
        token = principal.token
        stage_funnel = None
        if d.trigger_event in model.TRIGGERS and d.trigger_stage_id:
            found = self.pipeline.stage(token, d.trigger_stage_id)
            if found is None:
                errors.add("trigger.stage_id", "unknown_reference")
            elif found[1] != d.entity:
                errors.add("trigger.stage_id", "wrong_entity", entity=d.entity)
            else:
                stage_funnel = found[0]
        if d.trigger_event in model.TRIGGERS and d.funnel_id:
            entity = self.pipeline.funnel_entity(token, d.funnel_id)
            if entity is None:
                errors.add("conditions.funnel_id", "unknown_reference")
            elif entity != d.entity:
                errors.add("conditions.funnel_id", "wrong_entity", entity=d.entity)
            elif stage_funnel and stage_funnel != d.funnel_id:
                errors.add("trigger.stage_id", "stage_not_in_funnel")
        if d.task_type and len(d.task_type) <= 50:
            keys = task_type_keys(self.records, token)
            if keys is not None and d.task_type not in keys:
                errors.add("task_type", "unknown_reference")
        errors.raise_if_any()

    def list(self, principal: Principal) -> list[Process]:
        with self.db.session(company_id=principal.company_id) as s:
            return list(s.execute(select(Process).where(Process.deleted_at.is_(None))
                                  .order_by(Process.created_at, Process.id)).scalars())

    def get(self, principal: Principal, process_id: str) -> Process:
        with self.db.session(company_id=principal.company_id) as s:
            return self._get(s, process_id)

    @staticmethod
    def _get(s: Session, process_id: str) -> Process:
        p = s.execute(select(Process).where(Process.id == process_id, Process.deleted_at.is_(None))
                      ).scalar_one_or_none()
        if p is None:
            raise NotFound("process_not_found", "Process not found")
        return p

    def create(self, principal: Principal, d: model.Definition) -> Process:
        self._require_admin(principal)
        self._validate(principal, d)
        now = utcnow()
        with self.db.session(company_id=principal.company_id, write=True) as s:
            p = Process(id=str(uuid.uuid4()), author_id=principal.user_id, created_at=now, updated_at=now)
            _apply(p, d)
            s.add(p)
            return p

    def update(self, principal: Principal, process_id: str, d: model.Definition) -> Process:
        self._require_admin(principal)
        with self.db.session(company_id=principal.company_id) as s:
            self._get(s, process_id)
        self._validate(principal, d)
        with self.db.session(company_id=principal.company_id, write=True) as s:
            p = self._get(s, process_id)
            _apply(p, d)
            p.updated_at = utcnow()
            return p

    def delete(self, principal: Principal, process_id: str) -> None:
        self._require_admin(principal)
        with self.db.session(company_id=principal.company_id, write=True) as s:
            p = self._get(s, process_id)
            p.deleted_at = utcnow()
            p.enabled = False

    def runs(self, principal: Principal, process_id: str, limit: int, cursor: str) -> tuple[list[ProcessRun], str]:
        """A page of runs, newest first, by keyset (created_at, id)."""
        limit = max(1, min(limit or 50, 200))
        with self.db.session(company_id=principal.company_id) as s:
            self._get(s, process_id)
            q = select(ProcessRun).where(ProcessRun.process_id == process_id)
            if cursor:
                at, rid = _decode_cursor(cursor)
                q = q.where(or_(ProcessRun.created_at < at, and_(ProcessRun.created_at == at, ProcessRun.id < rid)))
            rows = s.execute(q.order_by(ProcessRun.created_at.desc(), ProcessRun.id.desc()).limit(limit + 1)
                             ).scalars().all()
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (_encode_cursor(rows[-1]) if more else "")

    # ---- running ------------------------------------------------------------------------------
    def remember_company(self, s: Session, message) -> None:
        """Keep a company's time zone (identity's CompanyCreated)."""
        cid = message.metadata.company_id
        if s.get(Company, cid) is None:
            s.add(Company(id=cid, time_zone=message.time_zone or model.DEFAULT_TIME_ZONE))

    def run_for_event(self, s: Session, message) -> None:
        """Run every matching process for one record event, at most once per (process, event).

        A run records refuses raises RunRefused once every run was tried: the consumer rolls the
        transaction back, retries the event with backoff (runs that succeeded are replayed by their
        idempotency keys) and after its last attempt parks the event and `park_failed` marks the
        runs failed. No waiting happens inside the transaction, which would hold the database's
        write lock (SQLite) for every other writer of this service meanwhile.
        """
        event = to_record_event(message)
        if event is None or event.automated:
            return  # a change a process made never starts processes: no loops
        company_id = message.metadata.company_id
        zone = _zone(s, company_id)
        finished, refused = [], []
        for p, _, run in _pending_runs(s, [event]):
            run.attempts += 1
            try:
                task_id = self.records.create_task(company_id, p.author_id, _task_request(p, event, zone))
            except grpc.RpcError as exc:
                if exc.code() in TRANSIENT:
                    raise Retryable(f"records: {exc.code().name}") from exc
                refused.append(refusal(decode_error(exc.trailing_metadata()), exc.code().name, exc.details()))
                log.warning("process %s run %s refused: %s", p.id, run.id, refused[-1])
                continue
            run.outcome, run.task_id, run.error, run.finished_at = "succeeded", task_id, "", utcnow()
            finished.append(_finished(run, company_id, p.author_id))
        if refused:
            raise RunRefused("; ".join(refused))
        add_events(s, OUTBOX, finished)

    def run_for_events(self, s: Session, messages: list) -> set[str]:
        """Run the matching processes of many events of one company (one poll's worth) with one
        `CreateTasks` call per acting author, in the consumer's transaction.

        Returns the ids of the events left for `run_for_event`: those with a run records refused,
        which that path tries again (with the consumer's backoff) and then parks. A records outage
        raises Retryable.
        """
        events = [e for e in map(to_record_event, messages) if e is not None and not e.automated]
        if not events:
            return set()
        company_id = messages[0].metadata.company_id
        zone = _zone(s, company_id)
        by_author: dict[str, list] = {}
        for p, event, run in _pending_runs(s, events):
            by_author.setdefault(p.author_id, []).append((p, event, run))
        left: set[str] = set()
        finished = []
        for author, runs in by_author.items():
            for i in range(0, len(runs), TASK_BATCH):
                chunk = runs[i:i + TASK_BATCH]
                for _, _, run in chunk:
                    run.attempts += 1
                try:
                    results = self.records.create_tasks(company_id, author,
                                                        [_task_request(p, e, zone) for p, e, _ in chunk])
                except grpc.RpcError as exc:
                    if exc.code() in TRANSIENT:
                        raise Retryable(f"records: {exc.code().name}") from exc
                    raise
                for (p, event, run), (task_id, error) in zip(chunk, results):
                    if error:
                        log.warning("process %s run %s refused: %s", p.id, run.id, error)
                        left.add(event.event_id)
                        continue
                    run.outcome, run.task_id, run.error, run.finished_at = "succeeded", task_id, "", utcnow()
                    finished.append(_finished(run, company_id, p.author_id))
        add_events(s, OUTBOX, finished)
        return left

    def park_failed(self, message, error: str) -> None:
        """After the last attempt (the event went to the DLQ): show its runs as failed.

        A run whose task records did create is not one of them, although its success was rolled back
        with the refused run's attempt: asking records once more replays that task by its key.
        """
        event = to_record_event(message)
        if event is None:
            return
        company_id = message.metadata.company_id
        error = error.removeprefix(f"{RunRefused.__module__}.{RunRefused.__qualname__}: ")  # what records said
        with self.db.session(company_id=company_id, write=True) as s:
            zone = _zone(s, company_id)
            finished = []
            for p, _, run in _pending_runs(s, [event], enabled_only=False):
                run.attempts = max(run.attempts, self.run_attempts)
                try:
                    task_id = self.records.create_task(company_id, p.author_id, _task_request(p, event, zone))
                    run.outcome, run.task_id, run.error = "succeeded", task_id, ""
                except grpc.RpcError:
                    run.outcome, run.error = "failed", error[:2000]
                run.finished_at = utcnow()
                finished.append(_finished(run, company_id, p.author_id))
            add_events(s, OUTBOX, finished)


def _finished(run: ProcessRun, company_id: str, actor: str) -> dict:
    """The outbox row announcing a finished run (`ProcessRunFinished`)."""
    return event_row(topic=RUN_TOPIC, aggregate_type="process_run", aggregate_id=run.process_id,
                     message=aev.ProcessRunFinished(process_id=run.process_id, trigger_event_id=run.event_id,
                                                    outcome=run.outcome, task_id=run.task_id, error=run.error),
                     company_id=company_id, actor_id=actor)


def _zone(s: Session, company_id: str) -> str:
    company = s.get(Company, company_id)
    return company.time_zone if company else model.DEFAULT_TIME_ZONE


def _pending_runs(s: Session, events: list[model.RecordEvent],
                  enabled_only: bool = True) -> list[tuple[Process, model.RecordEvent, ProcessRun]]:
    """The (process, event, run) of every process an event matches that has not succeeded for it yet;
    runs not started before are added to the session. Two queries, however many events."""
    q = select(Process).where(Process.trigger_event.in_({e.event for e in events}), Process.deleted_at.is_(None))
    processes = s.execute(q.where(Process.enabled.is_(True)) if enabled_only else q).scalars().all()
    pairs = [(p, e) for e in events for p in processes
             if p.trigger_event == e.event and model.matches(_definition(p), e)]
    if not pairs:
        return []
    process_ids = list({p.id for p, _ in pairs})
    runs = {(r.process_id, r.event_id): r for rows in in_chunks(s, lambda one_of: select(ProcessRun).where(
        ProcessRun.process_id.in_(process_ids), one_of(ProcessRun.event_id)), list({e.event_id for _, e in pairs}))
        for r in rows.scalars()}
    pending = []
    for p, e in pairs:
        run = runs.get((p.id, e.event_id))
        if run is not None and run.outcome == "succeeded":
            continue
        if run is None:
            run = runs[(p.id, e.event_id)] = ProcessRun(
                id=str(uuid.uuid4()), process_id=p.id, event_id=e.event_id, event=e.event,
                record_type=e.record_type, record_id=e.record_id, outcome="running", attempts=0,
                created_at=utcnow())
            s.add(run)
        pending.append((p, e, run))
    return pending


def _task_request(p: Process, event: model.RecordEvent, zone: str) -> rpb.CreateTaskRequest:
    """The task a process makes for an event; the idempotency key is the (process, event) pair."""
    assignee = event.responsible_id if p.assignee == "responsible" and event.responsible_id else p.author_id
    return rpb.CreateTaskRequest(
        type=p.task_type, comment=p.comment, due_at=rfc3339(model.due_at(event.occurred_at, zone, p.due)),
        responsible_id=assignee, deal_id=event.record_id if event.record_type == "deal" else "",
        client_id=event.record_id if event.record_type == "client" else "",
        idempotency_key=f"process:{p.id}:{event.event_id}", process_id=p.id)


def _apply(p: Process, d: model.Definition) -> None:
    p.name, p.type, p.trigger_event, p.trigger_stage_id = d.name, d.type, d.trigger_event, d.trigger_stage_id
    p.funnel_id, p.stage_group, p.due, p.assignee = d.funnel_id, d.stage_group, d.due, d.assignee
    p.task_type, p.comment, p.enabled = d.task_type, d.comment, d.enabled


def _definition(p: Process) -> model.Definition:
    return model.Definition(name=p.name, type=p.type, trigger_event=p.trigger_event,
                            trigger_stage_id=p.trigger_stage_id, funnel_id=p.funnel_id, stage_group=p.stage_group,
                            due=p.due, assignee=p.assignee, task_type=p.task_type, comment=p.comment,
                            enabled=p.enabled)


_EVENTS = {
    "DealCreated": ("deal.created", "deal"), "DealStageChanged": ("deal.stage_changed", "deal"),
    "DealResponsibleChanged": ("deal.responsible_changed", "deal"),
    "ClientCreated": ("client.created", "client"), "ClientStageChanged": ("client.stage_changed", "client"),
    "ClientResponsibleChanged": ("client.responsible_changed", "client"),
}
# The record events automation subscribes to, by topic.
SUBSCRIBED = {
    "crm.records.deal.v1": (rev.DealCreated, rev.DealStageChanged, rev.DealResponsibleChanged),
    "crm.records.client.v1": (rev.ClientCreated, rev.ClientStageChanged, rev.ClientResponsibleChanged),
}


def to_record_event(message) -> model.RecordEvent | None:
    """Read what processes need from a records event."""
    kind = _EVENTS.get(type(message).__name__)
    if kind is None:
        return None
    snap = message.deal if kind[1] == "deal" else message.client
    occurred = message.metadata.occurred_at.ToDatetime(tzinfo=_dt.timezone.utc) \
        if message.metadata.HasField("occurred_at") else utcnow()
    return model.RecordEvent(event_id=message.metadata.event_id, event=kind[0], record_type=kind[1],
                             record_id=snap.id, funnel_id=snap.funnel_id, stage_id=snap.stage_id,
                             stage_group=snap.stage_group_key, responsible_id=snap.responsible_id,
                             occurred_at=occurred, automated=message.source == rev.CHANGE_SOURCE_AUTOMATION)


def _encode_cursor(run: ProcessRun) -> str:
    raw = f"{run.created_at.isoformat()}|{run.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[_dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, rid = raw.split("|", 1)
        return _dt.datetime.fromisoformat(at), rid
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument("invalid_cursor", "The cursor is invalid") from exc


__all__ = ["AutomationService", "SUBSCRIBED", "TOPICS"]
