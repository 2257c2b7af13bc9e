"""Responsibility (F16): many deals or clients get a new responsible user at once, and a client's new
responsible takes its deals and open tasks along.

A bulk change is a few statements for any number of records: lock the rows (FOR UPDATE), give the
ones that have another responsible the new one (one UPDATE), check the stage rules on the locked rows
and write their history and events in one COPY each. PostgreSQL runs the statements one after the
other (`crm_platform.db.Overlapped`) while this thread checks the rows and builds history and events.
"""

from __future__ import annotations

import datetime as _dt
from typing import Iterable

from sqlalchemy import select, update

from crm_platform.context import Principal
from crm_platform.db import Overlapped, bulk_insert, in_chunks, retry_deadlocks, utcnow
from crm_platform.errors import FailedPrecondition, FieldCollector, InvalidArgument, NotFound
from crm_platform.uow import UnitOfWork
from crm_records.adapters.orm import Deal, History, Task
from crm_records.domain import model
from crm_records.domain.model import StageContext
from crm_records.service_layer.kinds import KINDS, SOURCES
from crm_records.service_layer.writes import RecordsBase, chunked, execute_chunked, no_number, source_of

MAX_BULK = 10000


def _live(rows: list, listed: str = "", values: list[str] = ()) -> list:
    """The rows not deleted. `listed` (the not-found error code) marks `values` as ids the caller listed:
    each must be a record of the company (404 otherwise) and not deleted (409)."""
    if listed:
        found = {r.id for r in rows}
        missing = [i for i in values if i not in found]
        if missing:
            raise NotFound(listed, "Some records were not found", ids=missing[:50])
        deleted = [r.id for r in rows if r.deleted]
        if deleted:
            raise FailedPrecondition("record_deleted", "Some records are deleted", ids=deleted[:50])
    return [r for r in rows if not r.deleted]


def _bulk_ids(ids: list[str]) -> list[str]:
    ids = list(dict.fromkeys(i for i in ids if i))
    if not ids:
        raise InvalidArgument("validation_failed", "No ids", fields=[{"field": "ids", "code": "required",
                                                                      "params": {}}])
    if len(ids) > MAX_BULK:
        raise InvalidArgument("validation_failed", "Too many ids", fields=[
            {"field": "ids", "code": "too_many", "params": {"max": MAX_BULK}}])
    return ids


class ResponsibilityUseCases(RecordsBase):
    def _bulk_responsible(self, p: Principal, ids: list[str], responsible_id: str) -> list[str]:
        ids = _bulk_ids(ids)
        errors = FieldCollector()
        if not responsible_id:
            errors.add("responsible_id", "required")
        else:
            self._check_user(p, errors, responsible_id)
        errors.raise_if_any()
        return ids

    def set_deals_responsible(self, p: Principal, ids: list[str], responsible_id: str,
                              cascade: bool) -> tuple[int, int]:
        """Bulk: the listed deals (and with cascade their clients) get a new responsible user.

        PostgreSQL runs the four statements (lock and update the deals, then their clients) one after the
        other while this thread checks the rows and builds the history and the events."""
        ids = self._bulk_responsible(p, ids, responsible_id)

        def change() -> tuple[int, int]:
            now = utcnow()
            with self.units.of(p) as uow, Overlapped(uow.session) as overlapped:
                deals = self._lock_and_reassign(uow, p, overlapped, "deal", ids, responsible_id, now)
                clients = self._lock_and_reassign(uow, p, overlapped, "client", ids, responsible_id, now,
                                                  clients_of_deals=True) if cascade else None
                deals = _live(deals.result(), "deal_not_found", ids)
                clients = _live(clients.result()) if cascade else []
                return tuple(self._record_reassignment(uow, p, overlapped, [("deal", deals), ("client", clients)],
                                                       responsible_id, source_of(p), now))

        return retry_deadlocks(change)  # clients' edits lock a client before its deals

    def set_clients_responsible(self, p: Principal, ids: list[str], responsible_id: str,
                                cascade: bool) -> tuple[int, int, int]:
        """Bulk: the listed clients (and with cascade their deals and open tasks) get a new responsible user."""
        ids = self._bulk_responsible(p, ids, responsible_id)

        def change() -> tuple[int, int, int]:
            now = utcnow()
            with self.units.of(p) as uow:
                with Overlapped(uow.session) as overlapped:
                    clients = _live(self._lock_and_reassign(uow, p, overlapped, "client", ids, responsible_id,
                                                            now).result(), "client_not_found", ids)
                    [n_clients] = self._record_reassignment(uow, p, overlapped, [("client", clients)],
                                                            responsible_id, source_of(p), now)
                n_deals = n_tasks = 0
                if cascade:
                    n_deals, n_tasks = self._cascade_client_responsible(uow, p, ids, responsible_id, source_of(p))
                return n_clients, n_deals, n_tasks

        return retry_deadlocks(change)  # the deals' bulk change locks deals before their clients

    def _lock_and_reassign(self, uow: UnitOfWork, p: Principal, overlapped: Overlapped, entity: str,
                           values: list[str], responsible_id: str, now: _dt.datetime, by: str = "id",
                           clients_of_deals: bool = False):
        """Queue two statements on `overlapped`: lock the rows of the records whose `by` column is one of
        `values` (with `clients_of_deals`: the clients of the deals `values` that are not deleted), then give
        those not deleted that have another responsible user `responsible_id`. Returns the future of the
        locked rows (deleted ones too), with the columns the history and the events need.

        The UPDATE needs nothing computed here, so PostgreSQL runs it right after the lock, while the
        caller checks the rules and builds history and events from the locked rows (`_record_reassignment`);
        a refusal raises and the whole change rolls back."""
        s, kind = uow.session, KINDS[entity]
        cls = kind.model
        cols = (cls.id, cls.deleted, cls.stage_id, cls.funnel_id, cls.responsible_id, cls.fields, cls.created_by,
                *kind.own)

        def where(one_of):
            if clients_of_deals:
                return cls.id.in_(select(Deal.client_id).where(Deal.company_id == p.company_id,
                                                               Deal.deleted.is_(False), one_of(Deal.id)))
            return one_of(getattr(cls, by))

        rows = overlapped.run(lambda: sorted({r.id: r for r in chunked(s, lambda one_of: select(*cols).where(
            cls.company_id == p.company_id, where(one_of)).with_for_update(), values)}.values(),
            key=lambda r: r.id))
        overlapped.run(lambda: execute_chunked(s, lambda one_of: update(cls).where(
            cls.company_id == p.company_id, cls.deleted.is_(False), cls.responsible_id.is_distinct_from(responsible_id),
            where(one_of)).values(responsible_id=responsible_id, updated_at=now)
            .execution_options(synchronize_session=False), values))
        return rows

    def _record_reassignment(self, uow: UnitOfWork, p: Principal, overlapped: Overlapped,
                             batches: list[tuple[str, list]], responsible_id: str, source: str,
                             now: _dt.datetime) -> list[int]:
        """Check the stage rules of rows locked and given a new responsible user (`_lock_and_reassign`), and
        write the history rows and events of all in one COPY each, queued on `overlapped` as soon as their
        rows are built. Returns how many of each batch changed (rows that already had this responsible are
        left alone, by the UPDATE too)."""
        src, actor = SOURCES[source], p.user_id or "system"
        written = {"responsible_id"}
        batches = [(entity, [r for r in rows if r.responsible_id != responsible_id]) for entity, rows in batches]
        contexts = self._contexts(p, [r for _, rows in batches for r in rows])
        refusing = {sid: model.may_refuse(ctx, written) for sid, ctx in contexts.items()}
        history: list[dict] = []
        for entity, rows in batches:
            kind = KINDS[entity]
            for row in rows:
                ctx = contexts[row.stage_id]
                if refusing[row.stage_id]:
                    before = kind.values(row)
                    try:
                        model.enforce_rules(ctx=ctx, previous=None, before=before,
                                            after={**before, "responsible_id": responsible_id}, written=written,
                                            entering=False, now=now, next_number=no_number)
                    except model.RuleViolation as exc:
                        exc.details[f"{entity}_id"] = row.id
                        raise
                history.append({"company_id": p.company_id, "entity": entity, "record_id": row.id, "at": now,
                                "actor_id": actor, "source": source, "action": "responsible_changed",
                                "changes": [{"field": "responsible_id", "old": row.responsible_id,
                                             "new": responsible_id}]})
                snap = kind.snapshot(row, ctx.group_key)
                snap.responsible_id = responsible_id
                uow.publish(row.id, kind.event(kind.responsible_changed, snap,
                                               previous_responsible_id=row.responsible_id, source=src))
        s = uow.session
        overlapped.run(lambda: bulk_insert(s, History.__table__, history))
        outbox_rows = uow.take_events()
        overlapped.run(lambda: uow.write_events(outbox_rows))
        return [len(rows) for _, rows in batches]

    def _contexts(self, p: Principal, rows: Iterable) -> dict[str, StageContext]:
        """The stage contexts of the rows' stages (from the cache; pipeline is asked for a stage it lacks)."""
        return {sid: self.stages.require(p, sid) for sid in {r.stage_id for r in rows}}

    def _cascade_client_responsible(self, uow: UnitOfWork, p: Principal, client_ids: list[str],
                                    responsible_id: str, source: str) -> tuple[int, int]:
        """The clients' (not deleted) deals and the open tasks of the clients and those deals follow."""
        s, now = uow.session, utcnow()
        with Overlapped(s) as overlapped:
            deals = _live(self._lock_and_reassign(uow, p, overlapped, "deal", client_ids, responsible_id, now,
                                                  by="client_id").result())
            [n_deals] = self._record_reassignment(uow, p, overlapped, [("deal", deals)], responsible_id, source, now)
        n_tasks = 0
        for column, keys in ((Task.client_id, client_ids), (Task.deal_id, [d.id for d in deals])):
            for result in in_chunks(s, lambda one_of: update(Task).where(
                    Task.company_id == p.company_id, Task.done.is_(False), Task.responsible_id != responsible_id,
                    one_of(column)).values(responsible_id=responsible_id)
                    .execution_options(synchronize_session=False), keys):
                n_tasks += result.rowcount
        return n_deals, n_tasks
