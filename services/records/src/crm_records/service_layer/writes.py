"""The shared write path of records: lookups, locked edits, history, autonumbers, counters, the saving of a
deal or client under its stage's rules with its events, soft delete and restore.

Every use case writes in a unit of work (`crm_platform.uow`): the events it publishes there reach the
outbox in the same transaction, and the board's counters (`adapters.totals`) are applied as that
transaction's last write. Calls to pipeline and identity happen before the write transaction opens
(stage contexts are cached, so the lookup inside it is a cache hit); only a bulk responsibility
change, which learns its records' stages by locking them, asks pipeline from inside it for a stage
the cache lacks.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import uuid
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_platform.context import Principal
from crm_platform.db import Database, in_chunks, one_or_not_found, retry_deadlocks, utcnow
from crm_platform.errors import FailedPrecondition, FieldCollector, NotFound, PermissionDenied
from crm_platform.idempotency import reused
from crm_platform.pagination import keyset_page
from crm_platform.uow import UnitOfWork, Units
from crm_records.adapters.directory import StageDirectory, UserDirectory
from crm_records.adapters.orm import PLATFORM, Counter, History
from crm_records.adapters.totals import StageTotals, counted
from crm_records.domain import model
from crm_records.domain.model import StageContext
from crm_records.service_layer.kinds import DEAL, SOURCES, Kind


class _StageNotCached(Exception):
    """`RecordsBase._edit`: the locked record's stage context is not cached (fetch it, start again)."""

    def __init__(self, stage_id: str):
        super().__init__(stage_id)
        self.stage_id = stage_id


def new_id() -> str:
    return str(uuid.uuid4())


def source_of(principal: Principal) -> str:
    """user for people, automation for service tokens (business processes)."""
    return "automation" if principal.kind == "service" else "user"


def linkable(errors: FieldCollector, field: str, row) -> bool:
    """Whether a record named in `field` can be linked to (it exists, not deleted); a field error if not."""
    if row is None:
        errors.add(field, "unknown_reference")
    elif row.deleted:
        errors.add(field, "record_deleted")
    return row is not None and not row.deleted


def parse_fields_json(errors: FieldCollector, raw: str | None) -> dict[str, Any]:
    """Decode the custom values object sent by the gateway."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        errors.add("fields", "invalid_type")
        return {}
    if not isinstance(value, dict):
        errors.add("fields", "invalid_type")
        return {}
    return value


def fingerprint(**values: Any) -> str:
    """A stable hash of a request, to tell a retry from a different request under the same key."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def diff(before: dict, after: dict, keys: Iterable[str], builtins: tuple[str, ...]) -> list[dict]:
    out = []
    for k in keys:
        if before.get(k) != after.get(k):
            out.append({"field": k if k in builtins else f"fields.{k}", "old": before.get(k), "new": after.get(k)})
    return out


def chunked(s: Session, make_query, ids: list[str]) -> list:
    """Run `make_query(one_of)` over `ids` (`crm_platform.db.in_chunks`) and join the rows."""
    return [row for result in in_chunks(s, make_query, ids) for row in result.all()]


def execute_chunked(s: Session, make_query, ids: list[str]) -> None:
    """Run a statement without rows over `ids` (`crm_platform.db.in_chunks`)."""
    for _ in in_chunks(s, make_query, ids):
        pass


def no_number(key: str) -> int:
    raise AssertionError("autonumbers are only drawn when a record enters a stage")


def like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class RecordsBase:
    """What every records use case shares: the database, the directories of stages and users, units."""

    def __init__(self, db: Database, stages: StageDirectory, users: UserDirectory):
        self.db = db
        self.units = Units(db, PLATFORM)
        self.stages = stages
        self.users = users

    # ---- reading and locking ---------------------------------------------------------------------
    @staticmethod
    def _one(s: Session, cls, record_id: str, code: str, label: str, lock: bool = False):
        """The record (404 `code` when the company has none by this id); `lock`: FOR UPDATE."""
        if not record_id:
            raise NotFound(code, f"{label} not found")
        return one_or_not_found(s, select(cls).where(cls.id == record_id), code, f"{label} not found", lock)

    def _get(self, p: Principal, kind: Kind, record_id: str):
        with self.db.session(company_id=p.company_id) as s:
            return self._one(s, kind.model, record_id, kind.not_found, kind.label)

    def _edit(self, p: Principal, kind: Kind, record_id: str, save: Callable[[UnitOfWork, Any, StageContext], None]):
        """Lock the deal or client in a unit of work and run `save(uow, row, context of its stage)`.

        The lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers take the database in turn) makes saves
        of one record run one after the other, each from what the previous one left: no edit is lost, the
        history's old values are the real ones and the board counters move the deal from the stage it is
        really in. Nothing calls pipeline while the row is locked: when its stage's context is not cached,
        the transaction ends with nothing written, the context is fetched, and the edit starts again with it
        (on the last try, should the record have moved on meanwhile, it is fetched in the transaction). A
        client's edit that moves its deals locks them after the client, the deals' bulk change the other way
        round: the one PostgreSQL picks as a deadlock's victim runs again (`retry_deadlocks`)."""
        return retry_deadlocks(lambda: self._edit_once(p, kind, record_id, save))

    def _edit_once(self, p: Principal, kind: Kind, record_id: str, save):
        tries, fetched = 3, {}
        for attempt in range(tries):
            try:
                with self.units.of(p) as uow:
                    row = self._one(uow.session, kind.model, record_id, kind.not_found, kind.label, lock=True)
                    ctx = fetched.get(row.stage_id) or self.stages.cached_context(p, row.stage_id)
                    if ctx is None:
                        if attempt < tries - 1:
                            raise _StageNotCached(row.stage_id)
                        ctx = self.stages.require(p, row.stage_id)
                    save(uow, row, ctx)
                    return row
            except _StageNotCached as missing:
                fetched[missing.stage_id] = self.stages.require(p, missing.stage_id)
        raise RuntimeError("unreachable")

    @staticmethod
    def _writable(record) -> None:
        if record.deleted:
            raise FailedPrecondition("record_deleted", "The record is deleted; restore it first", id=record.id)

    def _check_user(self, p: Principal, errors: FieldCollector, user_id: str, field_name: str = "responsible_id"):
        if user_id:
            self.users.check_responsible(p, errors, user_id, field_name)

    def _group(self, p: Principal, stage_id: str) -> str:
        ctx = self.stages.context(p, stage_id)
        return ctx.group_key if ctx else ""

    def deal_snapshot(self, p: Principal, d, group: str | None = None):
        return DEAL.snapshot(d, group if group is not None else self._group(p, d.stage_id))

    # ---- writing ---------------------------------------------------------------------------------
    @staticmethod
    def _history(s: Session, p: Principal, entity: str, record_id: str, source: str, action: str,
                 changes: list[dict], now: _dt.datetime) -> None:
        s.add(History(company_id=p.company_id, entity=entity, record_id=record_id, at=now,
                      actor_id=p.user_id or "system", source=source, action=action, changes=changes))

    @staticmethod
    def _numbers(s: Session, company_id: str, entity: str) -> Callable[[str], int]:
        """Next autonumber of a field: a counter row bumped in this transaction (unique under concurrency)."""
        dialect = s.get_bind().dialect.name
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Counter)

        def next_number(key: str) -> int:
            stmt = ins.values(company_id=company_id, entity=entity, field_key=key, value=1)
            stmt = stmt.on_conflict_do_update(index_elements=["company_id", "entity", "field_key"],
                                              set_={"value": Counter.value + 1}).returning(Counter.value)
            return int(s.execute(stmt).scalar_one())

        return next_number

    @staticmethod
    def _counted(kind: Kind, row) -> tuple | None:
        """What the row adds to the board's counters (`adapters.totals`): deals are counted, clients not."""
        return counted(row) if kind is DEAL else None

    def _count(self, uow: UnitOfWork, kind: Kind, before: tuple | None, row) -> None:
        """The row went from counting as `before` (`_counted`) to counting as it does now."""
        if kind is DEAL:
            StageTotals.of(uow).move(before, counted(row))

    def _create_once(self, p: Principal, operation: str, key: str, digest: str,
                     work: Callable[[UnitOfWork], str]) -> str:
        """Run `work(uow)` (it returns the id of what it made) at most once per idempotency key: the call's
        (claimed by the unit, `crm_platform.idempotency`) and the request's own `idempotency_key` field
        (stored in the same table, as a batch of one). A repeat answers the first id; a concurrent duplicate
        loses on the unique key and replays."""
        key = (key or "")[:200]
        store = self.units.idempotency
        for attempt in range(2):
            try:
                with self.units.of(p) as uow:
                    if uow.replayed is not None:
                        return uow.replayed.decode()
                    if key:
                        known = store.stored_answers(uow.session, p.company_id, p.user_id, operation, [key]).get(key)
                        if known is not None:
                            if known[0] != digest:
                                raise reused()
                            return known[1].decode()
                    made = work(uow)
                    uow.answer(made)
                    if key:
                        store.remember(uow.session, p.company_id, p.user_id, operation, [(key, digest, made.encode())])
                    return made
            except IntegrityError:
                if not key or attempt:
                    raise
        raise RuntimeError("unreachable")

    def _save(self, uow: UnitOfWork, p: Principal, kind: Kind, row, ctx: StageContext, old_ctx: StageContext,
              clean: dict[str, Any], custom: dict[str, Any], source: str, action: str = "updated") -> bool:
        """Apply changes to a loaded deal or client under the stage rules; history, counters and events.
        False when nothing changed."""
        s = uow.session
        now = utcnow()
        before = kind.values(row)
        after = {**before, **clean, **custom}
        entering = ctx.stage_id != row.stage_id
        written = set(clean) | set(custom)
        filled = model.enforce_rules(ctx=ctx, previous=old_ctx if entering else None, before=before, after=after,
                                     written=written, entering=entering, now=now,
                                     next_number=self._numbers(s, p.company_id, kind.name))
        after.update(filled)
        keys = list(dict.fromkeys([*kind.builtins, *before, *after]))
        changes = diff(before, after, keys, kind.builtins)
        if entering:
            changes.insert(0, {"field": "stage_id", "old": row.stage_id, "new": ctx.stage_id})
        if not changes:
            return False
        prev_stage, prev_funnel, prev_resp = row.stage_id, row.funnel_id, row.responsible_id
        was = self._counted(kind, row)
        kind.assign(row, after)
        row.fields = {k: v for k, v in after.items() if k not in kind.builtins and v is not None}
        row.stage_id, row.funnel_id = ctx.stage_id, ctx.funnel_id
        row.updated_at = now
        self._count(uow, kind, was, row)
        if entering:
            action = "stage_changed"
        elif [c["field"] for c in changes] == ["responsible_id"]:
            action = "responsible_changed"
        self._history(s, p, kind.name, row.id, source, action, changes, now)
        snap = kind.snapshot(row, ctx.group_key)
        src = SOURCES[source]
        values_changed = [c["field"] for c in changes if c["field"] not in ("stage_id", "responsible_id")]
        if values_changed:  # stage and responsible changes have events of their own
            uow.publish(row.id, kind.event(kind.updated, snap, changed_fields=values_changed, source=src))
        if entering:
            uow.publish(row.id, kind.event(kind.stage_changed, snap, previous_stage_id=prev_stage,
                                           previous_funnel_id=prev_funnel,
                                           previous_stage_group_key=old_ctx.group_key if old_ctx else "",
                                           source=src))
        if prev_resp != row.responsible_id:
            uow.publish(row.id, kind.event(kind.responsible_changed, snap, previous_responsible_id=prev_resp,
                                           source=src))
        return True

    def _set_deleted(self, p: Principal, kind: Kind, record_id: str, deleted: bool):
        """Soft-delete a deal or client (kept, hidden from lists), or bring a deleted one back as it was
        (the restore_records right). Doing what is already done changes nothing."""
        if not deleted and not p.can("restore_records"):
            raise PermissionDenied("forbidden", "Your role does not allow this", permission="restore_records")
        with self.units.of(p) as uow:
            row = self._one(uow.session, kind.model, record_id, kind.not_found, kind.label, lock=True)
            if row.deleted == deleted:
                return row
            now, was = utcnow(), self._counted(kind, row)
            row.deleted, row.updated_at = deleted, now
            row.deleted_at, row.deleted_by = (now, p.user_id) if deleted else (None, None)
            self._count(uow, kind, was, row)
            self._history(uow.session, p, kind.name, row.id, source_of(p), "deleted" if deleted else "restored",
                          [], now)
            snap = kind.snapshot(row, self._group(p, row.stage_id))
            uow.publish(row.id, kind.event(kind.deleted if deleted else kind.restored, snap,
                                           source=SOURCES[source_of(p)]))
            return row

    @staticmethod
    def _listing(p: Principal, kind: Kind, deleted: bool, **equal: str):
        """The query of a list of deals or clients: live ones (or the deleted), and each named column equal
        to its value where one is given (stage_id, funnel_id, responsible_id, ...)."""
        cls = kind.model
        stmt = select(cls).where(cls.company_id == p.company_id, cls.deleted.is_(bool(deleted)))
        for column, value in equal.items():
            if value:
                stmt = stmt.where(getattr(cls, column) == value)
        return stmt

    def _record_history(self, p: Principal, kind: Kind, record_id: str, limit: int, cursor: str):
        with self.db.session(company_id=p.company_id) as s:
            self._one(s, kind.model, record_id, kind.not_found, kind.label)
            stmt = select(History).where(History.entity == kind.name, History.record_id == record_id)
            return keyset_page(s, stmt, History, {"id": History.id}, "-id", cursor, limit, default="-id")
