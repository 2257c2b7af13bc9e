"""Automation use cases: process definitions (admin) and running them on record events.

Writes of the API go through units of work (`crm_platform.uow`), which also claim the call's
idempotency key; the runner works in the consumer's transaction and publishes through
`units.within`. Records and pipeline are reached through `adapters.clients`, whose errors say what
happened: `RecordsUnavailable` (a `Retryable`: the consumer waits), `TaskRefused` (final).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.automation.events.v1 import automation_events_pb2 as aev
from crm_platform.context import Principal
from crm_platform.db import Database, in_chunks, utcnow
from crm_platform.errors import NotFound, PermissionDenied
from crm_platform.pagination import keyset_page
from crm_platform.topics import topics_in
from crm_platform.uow import Units
from crm_automation.adapters.clients import Pipeline, Records, RecordsError, TaskRefused
from crm_automation.adapters.orm import PLATFORM, Company, Process, ProcessRun
from crm_automation.domain import model

log = logging.getLogger(__name__)

TOPICS = topics_in(aev)
TASK_BATCH = 500  # records' CreateTasks limit
RUN_SORTS = {"created_at": ProcessRun.created_at}


class RunRefused(Exception):
    """Records refused a run's task (the consumer retries the event, then parks it)."""


class AutomationService:
    """Process definitions and the runner."""

    def __init__(self, db: Database, pipeline: Pipeline, records: Records, run_attempts: int = 5):
        self.db = db
        self.units = Units(db, PLATFORM)
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
            keys = self.records.task_type_keys(token)
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
        with self.units.of(principal) as uow:
            p = Process(id=str(uuid.uuid4()), author_id=principal.user_id, created_at=now, updated_at=now)
            _apply(p, d)
            uow.session.add(p)
            return p

    def update(self, principal: Principal, process_id: str, d: model.Definition) -> Process:
        self._require_admin(principal)
        with self.db.session(company_id=principal.company_id) as s:
            self._get(s, process_id)
        self._validate(principal, d)
        with self.units.of(principal) as uow:
            p = self._get(uow.session, process_id)
            _apply(p, d)
            p.updated_at = utcnow()
            return p

    def delete(self, principal: Principal, process_id: str) -> None:
        self._require_admin(principal)
        with self.units.of(principal) as uow:
            p = self._get(uow.session, process_id)
            p.deleted_at = utcnow()
            p.enabled = False

    def runs(self, principal: Principal, process_id: str, limit: int, cursor: str) -> tuple[list[ProcessRun], str]:
        """A page of runs, newest first, by keyset (created_at, id)."""
        with self.db.session(company_id=principal.company_id) as s:
            self._get(s, process_id)
            return keyset_page(s, select(ProcessRun).where(ProcessRun.process_id == process_id), ProcessRun,
                               RUN_SORTS, "", cursor, limit, default="-created_at")

    # ---- running ------------------------------------------------------------------------------
    def remember_company(self, s: Session, company_id: str, time_zone: str) -> None:
        """Keep a company's time zone (identity's CompanyCreated)."""
        if s.get(Company, company_id) is None:
            s.add(Company(id=company_id, time_zone=time_zone or model.DEFAULT_TIME_ZONE))

    def run_for_event(self, s: Session, company_id: str, event: model.RecordEvent) -> None:
        """Run every matching process for one record event, at most once per (process, event).

        A run records refuses raises RunRefused once every run was tried: the consumer rolls the
        transaction back, retries the event with backoff (runs that succeeded are replayed by their
        idempotency keys) and after its last attempt parks the event and `park_failed` marks the
        runs failed. Records not answering raises RecordsUnavailable (Retryable: the event waits).
        No waiting happens inside the transaction, which would hold the database's write lock
        (SQLite) for every other writer of this service meanwhile.
        """
        if event.automated:
            return  # a change a process made never starts processes: no loops
        zone = _zone(s, company_id)
        finished, refused = [], []
        for p, _, run in _pending_runs(s, [event]):
            run.attempts += 1
            try:
                task_id = self.records.create_task(company_id, p.author_id, _task(p, event, zone))
            except TaskRefused as exc:
                refused.append(exc.reason)
                log.warning("process %s run %s refused: %s", p.id, run.id, exc.reason)
                continue
            run.outcome, run.task_id, run.error, run.finished_at = "succeeded", task_id, "", utcnow()
            finished.append((run, p.author_id))
        if refused:
            raise RunRefused("; ".join(refused))
        self._announce(s, company_id, finished)

    def run_for_events(self, s: Session, company_id: str, events: list[model.RecordEvent]) -> set[str]:
        """Run the matching processes of many events of one company (one poll's worth) with one
        `CreateTasks` call per acting author, in the consumer's transaction.

        Returns the ids of the events left for `run_for_event`: those with a run records refused,
        which that path tries again (with the consumer's backoff) and then parks. A records outage
        raises RecordsUnavailable (Retryable); a refused call as a whole raises TaskRefused, and the
        consumer then handles the events one by one.
        """
        events = [e for e in events if not e.automated]
        if not events:
            return set()
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
                results = self.records.create_tasks(company_id, author, [_task(p, e, zone) for p, e, _ in chunk])
                for (p, event, run), (task_id, error) in zip(chunk, results):
                    if error:
                        log.warning("process %s run %s refused: %s", p.id, run.id, error)
                        left.add(event.event_id)
                        continue
                    run.outcome, run.task_id, run.error, run.finished_at = "succeeded", task_id, "", utcnow()
                    finished.append((run, p.author_id))
        self._announce(s, company_id, finished)
        return left

    def park_failed(self, company_id: str, event: model.RecordEvent, error: str) -> None:
        """After the last attempt (the event went to the DLQ): show its runs as failed.

        A run whose task records did create is not one of them, although its success was rolled back
        with the refused run's attempt: asking records once more replays that task by its key.
        """
        error = error.removeprefix(f"{RunRefused.__module__}.{RunRefused.__qualname__}: ")  # what records said
        with self.db.session(company_id=company_id, write=True) as s:
            zone = _zone(s, company_id)
            finished = []
            for p, _, run in _pending_runs(s, [event], enabled_only=False):
                run.attempts = max(run.attempts, self.run_attempts)
                try:
                    task_id = self.records.create_task(company_id, p.author_id, _task(p, event, zone))
                    run.outcome, run.task_id, run.error = "succeeded", task_id, ""
                except RecordsError:
                    run.outcome, run.error = "failed", error[:2000]
                run.finished_at = utcnow()
                finished.append((run, p.author_id))
            self._announce(s, company_id, finished)

    def _announce(self, s: Session, company_id: str, finished: list[tuple[ProcessRun, str]]) -> None:
        """Publish `ProcessRunFinished` for each finished run in the consumer's transaction, acting as the
        run's process author; every author's events go to the outbox in one statement."""
        by_actor: dict[str, list[ProcessRun]] = {}
        for run, actor in finished:
            by_actor.setdefault(actor, []).append(run)
        rows = []
        for actor, runs in by_actor.items():
            with self.units.within(s, company_id, actor) as uow:
                for run in runs:
                    uow.publish(run.process_id, finished_event(run))
                rows += uow.take_events()
        if rows:
            uow.write_events(rows)


def finished_event(run: ProcessRun) -> aev.ProcessRunFinished:
    """The event announcing a finished run."""
    return aev.ProcessRunFinished(process_id=run.process_id, trigger_event_id=run.event_id, outcome=run.outcome,
                                  task_id=run.task_id, error=run.error)


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


def _task(p: Process, event: model.RecordEvent, zone: str) -> model.NewTask:
    return model.task_for(p.id, p.author_id, _definition(p), event, zone)


def _apply(p: Process, d: model.Definition) -> None:
    p.name, p.type, p.trigger_event, p.trigger_stage_id = d.name, d.type, d.trigger_event, d.trigger_stage_id
    p.funnel_id, p.stage_group, p.due, p.assignee = d.funnel_id, d.stage_group, d.due, d.assignee
    p.task_type, p.comment, p.enabled = d.task_type, d.comment, d.enabled


def _definition(p: Process) -> model.Definition:
    return model.Definition(name=p.name, type=p.type, trigger_event=p.trigger_event,
                            trigger_stage_id=p.trigger_stage_id, funnel_id=p.funnel_id, stage_group=p.stage_group,
                            due=p.due, assignee=p.assignee, task_type=p.task_type, comment=p.comment,
                            enabled=p.enabled)


__all__ = ["AutomationService", "RunRefused", "TOPICS"]
