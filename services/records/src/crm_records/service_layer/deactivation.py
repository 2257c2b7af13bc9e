"""A deactivated user's open work goes to a successor (identity's `UserDeactivated`, records' consumer).

Deactivated users can no longer be made responsible, and a business process that assigns its task to
"responsible" would be refused for a record still held by one. So when identity announces a
deactivation, records hands the user's open work over, in the consumer's transaction:

- deals not deleted in an open stage group (`unprocessed`, `in_progress`); closed deals (`successful`,
  `failed`) keep the user, so who won or lost them stays true in lists and reports;
- clients not deleted (a client stays a relationship in every group);
- tasks not done.

The successor is the user who deactivated them (the event's actor) while that is another active user
of the company, else the company's longest-standing active administrator (`UserDirectory.successor`).
A system change: no stage rules apply (as when pipeline removes a stage); every record changed gets a
history row (source "system", actor the deactivating user) and deals and clients their usual
`*ResponsibleChanged` event (source SYSTEM), so automation's "responsible changed" processes run for
the successor. It is idempotent twice over: the consumer skips an event it has applied
(`processed_events`), and a second hand-over finds nothing left with the user.
"""

from __future__ import annotations

import datetime as _dt
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_platform.context import Principal
from crm_platform.db import bulk_insert, utcnow
from crm_platform.uow import UnitOfWork
from crm_records.adapters.orm import History, Task
from crm_records.service_layer.kinds import CLIENT, DEAL, SOURCES, Kind
from crm_records.service_layer.writes import RecordsBase, execute_chunked

log = logging.getLogger(__name__)

CLOSED_GROUPS = frozenset({"successful", "failed"})  # a deal there is done: it keeps its responsible


class Deactivations(RecordsBase):
    def hand_over(self, s: Session, p: Principal, user_id: str) -> tuple[str, int, int, int]:
        """Give the open deals, the clients and the open tasks of the deactivated `user_id` to their
        successor, in the consumer's transaction `s`; `p` acts for the event's actor. Returns (successor,
        deals, clients, tasks changed); no successor (identity names none) changes nothing."""
        self.users.invalidate(p.company_id, user_id)
        successor = self.users.successor(p, user_id)
        if not successor:
            log.warning("no active administrator to take over deactivated user %s; records stay", user_id)
            return "", 0, 0, 0
        now = utcnow()
        with self.units.within(s, p.company_id, p.user_id or "system") as uow:
            deals = self._hand_over_records(uow, p, DEAL, user_id, successor, now, open_only=True)
            clients = self._hand_over_records(uow, p, CLIENT, user_id, successor, now, open_only=False)
            tasks = self._hand_over_tasks(uow, p, user_id, successor, now)
        return successor, deals, clients, tasks

    def _hand_over_records(self, uow: UnitOfWork, p: Principal, kind: Kind, user_id: str, successor: str,
                           now: _dt.datetime, open_only: bool) -> int:
        s, cls = uow.session, kind.model
        cols = (cls.id, cls.stage_id, cls.funnel_id, cls.responsible_id, cls.fields, cls.created_by, *kind.own)
        rows = s.execute(select(*cols).where(cls.company_id == p.company_id, cls.deleted.is_(False),
                                             cls.responsible_id == user_id).order_by(cls.id).with_for_update()).all()
        contexts = {sid: self.stages.context(p, sid) for sid in {r.stage_id for r in rows}}
        groups = {sid: ctx.group_key if ctx else "" for sid, ctx in contexts.items()}
        if open_only:
            rows = [r for r in rows if groups[r.stage_id] not in CLOSED_GROUPS]
        if not rows:
            return 0
        execute_chunked(s, lambda one_of: update(cls).where(cls.company_id == p.company_id, one_of(cls.id))
                        .values(responsible_id=successor, updated_at=now)
                        .execution_options(synchronize_session=False), [r.id for r in rows])
        history = []
        for row in rows:
            history.append(self._change(p, kind.name, row.id, user_id, successor, now))
            snap = kind.snapshot(row, groups[row.stage_id])
            snap.responsible_id = successor
            uow.publish(row.id, kind.event(kind.responsible_changed, snap, previous_responsible_id=user_id,
                                           source=SOURCES["system"]))
        bulk_insert(s, History.__table__, history)
        return len(rows)

    def _hand_over_tasks(self, uow: UnitOfWork, p: Principal, user_id: str, successor: str,
                         now: _dt.datetime) -> int:
        """Open tasks change hands with a history row each (entity "task"); tasks have no such event."""
        s = uow.session
        ids = list(s.execute(select(Task.id).where(Task.company_id == p.company_id, Task.done.is_(False),
                                                   Task.responsible_id == user_id)
                             .order_by(Task.id).with_for_update()).scalars())
        if not ids:
            return 0
        execute_chunked(s, lambda one_of: update(Task).where(Task.company_id == p.company_id, one_of(Task.id))
                        .values(responsible_id=successor).execution_options(synchronize_session=False), ids)
        bulk_insert(s, History.__table__, [self._change(p, "task", i, user_id, successor, now) for i in ids])
        return len(ids)

    @staticmethod
    def _change(p: Principal, entity: str, record_id: str, old: str, new: str, now: _dt.datetime) -> dict:
        return {"company_id": p.company_id, "entity": entity, "record_id": record_id, "at": now,
                "actor_id": p.user_id or "system", "source": "system", "action": "responsible_changed",
                "changes": [{"field": "responsible_id", "old": old, "new": new}]}
