"""Task use cases: task types, creating tasks (one, or a batch with a key per task), editing, deleting, lists
(with the day's buckets: overdue, today in the company's time zone, upcoming)."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.records.events.v1 import records_events_pb2 as ev
from crm_platform.context import Principal
from crm_platform.db import bulk_insert, in_chunks, utcnow
from crm_platform.errors import AppError, Conflict, FieldCollector, FieldErrors, InvalidArgument, PermissionDenied
from crm_platform.idempotency import reused
from crm_platform.pagination import keyset_page
from crm_platform.uow import UnitOfWork
from crm_records.adapters.orm import Client, Company, Deal, History, Task, TaskType
from crm_records.domain import model
from crm_records.service_layer.kinds import SOURCES, task_snapshot
from crm_records.service_layer.writes import RecordsBase, fingerprint, linkable, new_id, source_of

MAX_TASK_BATCH = 500


@dataclass(frozen=True)
class NewTask:
    """A task to create: the fields of `CreateTaskRequest`."""

    type: str
    comment: str = ""
    due_at: str = ""
    responsible_id: str = ""
    deal_id: str = ""
    client_id: str = ""
    idempotency_key: str = ""
    process_id: str = ""


def _check_task_type(errors: FieldCollector, type_key: str, keys: list[str]) -> None:
    if not type_key:
        errors.add("type", "required")
    elif type_key not in keys:
        errors.add("type", "invalid_choice", options=", ".join(keys))


class TaskUseCases(RecordsBase):
    def task_types(self, p: Principal) -> list[tuple[str, str, bool]]:
        with self.db.session(company_id=p.company_id) as s:
            own = s.execute(select(TaskType).order_by(TaskType.created_at, TaskType.id)).scalars()
            return [(k, n, True) for k, n in model.BUILTIN_TASK_TYPES] + [(t.key, t.name, False) for t in own]

    def create_task_type(self, p: Principal, name: str) -> tuple[str, str, bool]:
        if not p.can("admin"):
            raise PermissionDenied("forbidden", "Your role does not allow this", permission="admin")
        errors = FieldCollector()
        name = model.check_text(errors, "name", name, max_len=50)
        key = re.sub(r"\W+", "_", name.lower()).strip("_")[:60]
        if name and not key:
            errors.add("name", "invalid_value")
        errors.raise_if_any()
        if key in model.BUILTIN_TASK_KEYS:
            raise Conflict("task_type_exists", "This task type already exists", field="name")
        try:
            with self.units.of(p) as uow:
                if uow.session.execute(select(TaskType.id).where(TaskType.key == key)).first() is not None:
                    raise Conflict("task_type_exists", "This task type already exists", field="name")
                uow.session.add(TaskType(id=new_id(), company_id=p.company_id, key=key, name=name,
                                         created_at=utcnow()))
        except IntegrityError as exc:
            raise Conflict("task_type_exists", "This task type already exists", field="name") from exc
        return key, name, False

    def _task_type_keys(self, p: Principal) -> list[str]:
        return [k for k, _, _ in self.task_types(p)]

    def create_task(self, p: Principal, task: NewTask) -> Task:
        """Create a task (users, and the automation's processes with an idempotency key)."""
        [(task_id, error)] = self.create_tasks(p, [task])
        if error is not None:
            raise error
        return self.get_task(p, task_id)

    def create_tasks(self, p: Principal, tasks: list[NewTask]) -> list[tuple[str, AppError | None]]:
        """Create tasks in one transaction, each at most once per idempotency key.

        Every task gets its own answer, in order: its id (made now, or by an earlier request with
        the same key) or the error that refused it; a refused task does not stop the others. The
        automation sends the runs of one poll of events this way: one call and one commit instead
        of one of each per task.
        """
        if len(tasks) > MAX_TASK_BATCH:
            raise InvalidArgument("too_many_tasks", "Too many tasks in one request", max=MAX_TASK_BATCH)
        builtin = model.BUILTIN_TASK_KEYS
        keys = builtin if all(t.type in builtin for t in tasks) else self._task_type_keys(p)
        checked = [self._check_new_task(p, keys, t) for t in tasks]
        for attempt in range(2):
            try:
                with self.units.of(p) as uow:
                    return self._insert_tasks(uow, p, checked)
            except IntegrityError:
                if attempt:  # a concurrent request stored one of the keys first: the retry replays it
                    raise
        raise RuntimeError("unreachable")

    def _check_new_task(self, p: Principal, type_keys: list[str],
                        t: NewTask) -> tuple[NewTask, _dt.datetime | None, str, list[dict]]:
        """What can be checked before the transaction: (the task normalised, due time, request hash, field errors)."""
        errors = FieldCollector()
        _check_task_type(errors, t.type, type_keys)
        comment = (t.comment or "").strip()
        if len(comment) > model.LONG_TEXT_MAX:
            errors.add("comment", "too_long", max=model.LONG_TEXT_MAX)
        due = model.parse_datetime(t.due_at) if t.due_at else None
        if not t.due_at:
            errors.add("due_at", "required")
        elif due is None:
            errors.add("due_at", "invalid_datetime")
        if len(t.process_id or "") > 36:
            errors.add("process_id", "too_long", max=36)
        t = replace(t, comment=comment, responsible_id=t.responsible_id or p.user_id,
                    idempotency_key=(t.idempotency_key or "")[:200])
        self._check_user(p, errors, t.responsible_id)
        digest = fingerprint(type=t.type, comment=comment, due_at=model.iso(due), responsible_id=t.responsible_id,
                             deal_id=t.deal_id, client_id=t.client_id, process_id=t.process_id)
        return t, due, digest, errors.fields

    def _insert_tasks(self, uow: UnitOfWork, p: Principal, checked: list) -> list[tuple[str, AppError | None]]:
        """Replay known keys, check the linked records (one query per table), insert the rest."""
        s, store = uow.session, self.units.idempotency
        if uow.replayed is not None:  # the whole call was made before (its own key): answer it again
            return [(task_id, None) for task_id in uow.replayed.decode().split(",")]
        keys = list({t.idempotency_key for t, *_ in checked if t.idempotency_key})
        stored = {k: (digest, answer.decode()) for k, (digest, answer) in
                  store.stored_answers(s, p.company_id, p.user_id, "CreateTask", keys).items()}
        deals = {r.id: r for rows in in_chunks(s, lambda one_of: select(Deal.id, Deal.client_id, Deal.deleted).where(
            Deal.company_id == p.company_id, one_of(Deal.id)), list({t.deal_id for t, *_ in checked if t.deal_id}))
            for r in rows}
        clients = {r.id: r for rows in in_chunks(s, lambda one_of: select(Client.id, Client.deleted).where(
            Client.company_id == p.company_id, one_of(Client.id)), list({t.client_id for t, *_ in checked
                                                                         if t.client_id})) for r in rows}
        now, src = utcnow(), source_of(p)
        results: list[tuple[str, AppError | None]] = []
        history: list[dict] = []
        remembered: list[tuple[str, str, bytes]] = []
        for t, due, digest, static_errors in checked:
            if t.idempotency_key in stored:
                known_hash, known_id = stored[t.idempotency_key]
                results.append((known_id, None) if known_hash == digest else ("", reused()))
                continue
            errors = FieldCollector()
            errors.fields.extend(static_errors)
            linked_client = t.client_id or None
            if t.deal_id and linkable(errors, "deal_id", deals.get(t.deal_id)) and not linked_client:
                linked_client = deals[t.deal_id].client_id
            if t.client_id:
                linkable(errors, "client_id", clients.get(t.client_id))
            if errors.fields:
                results.append(("", FieldErrors(errors.fields)))
                continue
            task = Task(id=new_id(), company_id=p.company_id, type=t.type, comment=t.comment, due_at=due,
                        responsible_id=t.responsible_id, deal_id=t.deal_id or None, client_id=linked_client,
                        done=False, created_at=now, created_by=p.user_id, process_id=t.process_id or None)
            s.add(task)
            history += [{"company_id": p.company_id, "entity": entity, "record_id": rid, "at": now,
                         "actor_id": p.user_id or "system", "source": src, "action": "task_created",
                         "changes": [{"field": "task", "old": None, "new": task.id}]}
                        for entity, rid in (("deal", t.deal_id), ("client", linked_client)) if rid]
            uow.publish(task.id, ev.TaskCreated(task=task_snapshot(task), source=SOURCES[src]))
            if t.idempotency_key:
                stored[t.idempotency_key] = (digest, task.id)  # the same key twice in one request: one task
                remembered.append((t.idempotency_key, digest, task.id.encode()))
            results.append((task.id, None))
        s.flush()
        bulk_insert(s, History.__table__, history)
        store.remember(s, p.company_id, p.user_id, "CreateTask", remembered)
        if results and all(error is None for _, error in results):
            uow.answer(",".join(task_id for task_id, _ in results))
        return results

    def get_task(self, p: Principal, task_id: str) -> Task:
        with self.db.session(company_id=p.company_id) as s:
            return self._one(s, Task, task_id, "task_not_found", "Task")

    def update_task(self, p: Principal, task_id: str, changes: dict[str, Any]) -> Task:
        errors = FieldCollector()
        if changes.get("type") is not None:
            _check_task_type(errors, changes["type"], self._task_type_keys(p))
        if changes.get("comment") is not None and len(changes["comment"]) > model.LONG_TEXT_MAX:
            errors.add("comment", "too_long", max=model.LONG_TEXT_MAX)
        due = None
        if changes.get("due_at") is not None:
            due = model.parse_datetime(changes["due_at"])
            if due is None:
                errors.add("due_at", "invalid_datetime")
        if changes.get("responsible_id"):
            self._check_user(p, errors, changes["responsible_id"])
        errors.raise_if_any()
        with self.units.of(p) as uow:
            task = self._one(uow.session, Task, task_id, "task_not_found", "Task", lock=True)
            was_done = task.done
            if changes.get("type") is not None:
                task.type = changes["type"]
            if changes.get("comment") is not None:
                task.comment = changes["comment"].strip()
            if due is not None:
                task.due_at = due
            if changes.get("responsible_id"):
                task.responsible_id = changes["responsible_id"]
            if changes.get("done") is not None:
                task.done = bool(changes["done"])
                task.done_at = utcnow() if task.done else None
            if task.done and not was_done:
                uow.publish(task.id, ev.TaskDone(task=task_snapshot(task), source=SOURCES[source_of(p)]))
            return task

    def delete_task(self, p: Principal, task_id: str) -> Task:
        """Remove a task (any user of the company, as for edits); its deal's and client's timelines say so."""
        with self.units.of(p) as uow:
            s = uow.session
            task = self._one(s, Task, task_id, "task_not_found", "Task", lock=True)
            now, src = utcnow(), source_of(p)
            for entity, record_id in (("deal", task.deal_id), ("client", task.client_id)):
                if record_id:
                    self._history(s, p, entity, record_id, src, "task_deleted",
                                  [{"field": "task", "old": task.id, "new": None}], now)
            uow.publish(task.id, ev.TaskDeleted(task=task_snapshot(task), source=SOURCES[src]))
            s.delete(task)
            return task

    def list_tasks(self, p: Principal, *, deal_id: str = "", client_id: str = "", responsible_id: str = "",
                   done: bool | None = None, due: str = "", limit: int = 50,
                   cursor: str = "") -> tuple[list[Task], str]:
        """A page of tasks, soonest due first; `due`: overdue (not done, due before now), today (due today in
        the company's time zone) or upcoming (due after today)."""
        if due and due not in model.TASK_DUE:
            raise FieldErrors([{"field": "due", "code": "invalid_choice",
                                "params": {"options": ", ".join(model.TASK_DUE)}}])
        with self.db.session(company_id=p.company_id) as s:
            stmt = select(Task).where(Task.company_id == p.company_id)
            if deal_id:
                stmt = stmt.where(Task.deal_id == deal_id)
            if client_id:
                stmt = stmt.where(Task.client_id == client_id)
            if responsible_id:
                stmt = stmt.where(Task.responsible_id == responsible_id)
            if done is not None:
                stmt = stmt.where(Task.done.is_(done))
            if due:
                now = utcnow()
                start, end = model.local_day(now, self.time_zone(s, p.company_id))
                if due == "overdue":
                    stmt = stmt.where(Task.done.is_(False), Task.due_at < now)
                elif due == "today":
                    stmt = stmt.where(Task.due_at >= start, Task.due_at < end)
                else:
                    stmt = stmt.where(Task.due_at >= end)
            return keyset_page(s, stmt, Task, {"due_at": Task.due_at}, "due_at", cursor, limit, default="due_at")

    # ---- the company's time zone (identity's CompanyCreated) --------------------------------------
    @staticmethod
    def remember_company(s: Session, company_id: str, time_zone: str) -> None:
        """Keep a company's time zone (identity's CompanyCreated; a repeated event changes nothing)."""
        if company_id and s.get(Company, company_id) is None:
            s.add(Company(id=company_id, time_zone=time_zone or model.DEFAULT_TIME_ZONE))

    @staticmethod
    def time_zone(s: Session, company_id: str) -> str:
        """The company's time zone; identity's default until its CompanyCreated has arrived."""
        company = s.get(Company, company_id)
        return company.time_zone if company else model.DEFAULT_TIME_ZONE
