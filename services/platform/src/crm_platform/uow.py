"""Units of work: one write transaction of a use case, with what it publishes and what it answers.

    with self.units.write(p) as uow:
        deal = ...; uow.session.add(deal)
        uow.publish(deal.id, ev.DealCreated(...))

The use case says what it publishes; the unit inserts those events into the outbox just before it
commits (one statement, in the same transaction as the change) and drops them on a rollback. The
first write unit of an idempotent gRPC call also claims the call's idempotency key in that
transaction (`crm_platform.idempotency`); `uow.replayed` is then the use case's answer from the
first time, if it stored one (`uow.answer`).

Consumers, whose transaction the consumer opens, publish through `units.within(session, ...)`.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Callable, Iterator

from google.protobuf.message import Message
from sqlalchemy import Table
from sqlalchemy.orm import Session

from crm_platform import failpoints
from crm_platform.context import Principal
from crm_platform.db import Database
from crm_platform.idempotency import CallKey, IdempotencyStore, pending_call
from crm_platform.outbox import add_events, event_rows
from crm_platform.topics import aggregate_of, topic_of


@functools.lru_cache(maxsize=None)
def _route(cls: type) -> tuple[str, str]:
    return topic_of(cls), aggregate_of(cls)


class UnitOfWork:
    """The session of one transaction, the events it will publish and its idempotency key."""

    def __init__(self, session: Session, units: "Units", company_id: str, actor_id: str):
        self.session = session
        self.units = units
        self.company_id = company_id
        self.actor_id = actor_id
        self.replayed: bytes | None = None
        self.state: dict = {}  # what a service keeps per transaction (records: its stage counters)
        self._events: list[tuple[str, str, str, Message]] = []
        self._before_commit: list[Callable[[], None]] = []
        self._call: CallKey | None = None

    def publish(self, aggregate_id: str, message: Message) -> None:
        """Publish `message` (an event; its contract names topic and aggregate) when this unit commits."""
        topic, aggregate = _route(type(message))
        self._events.append((topic, aggregate, aggregate_id, message))

    def take_events(self) -> list[dict]:
        """The outbox rows of the events published so far (they are no longer written at commit): for a
        caller that writes them itself, e.g. overlapped with other statements."""
        events, self._events = self._events, []
        return event_rows(events, company_id=self.company_id, actor_id=self.actor_id) if events else []

    def write_events(self, rows: list[dict]) -> None:
        add_events(self.session, self.units.outbox, rows)

    def before_commit(self, step: Callable[[], None]) -> None:
        """Run `step` (once) as the last write of this transaction, e.g. to apply counters kept meanwhile."""
        if step not in self._before_commit:
            self._before_commit.append(step)

    def answer(self, value: str | bytes) -> None:
        """Store the use case's answer under the call's idempotency key, in this transaction (nothing when
        the call has none); a replay hands it back as `replayed`."""
        if self._call is not None:
            self.units.idempotency.answer(self.session, self._call,
                                          value.encode() if isinstance(value, str) else value)
            self._call.answered = True

    def _claim(self) -> None:
        call = pending_call.get()
        if call is not None and not call.claimed and self.units.idempotency is not None:
            self._call = call
            self.replayed = self.units.idempotency.claim(self.session, call)

    def _flush(self) -> None:
        for step in self._before_commit:
            step()
        if self._events:
            self.write_events(self.take_events())
        if self._call is not None:
            self._call.claimed = True  # before the commit: `Units.write` undoes it when that fails


class Units:
    """Opens the units of work of one service's database."""

    def __init__(self, db: Database, tables: dict[str, Table]):
        self.db = db
        self.outbox = tables["outbox"]
        self.idempotency = IdempotencyStore(db, tables["idempotency_keys"]) if "idempotency_keys" in tables else None

    def of(self, p: Principal) -> contextlib.AbstractContextManager[UnitOfWork]:
        """A write unit acting for the caller `p`."""
        return self.write(p.company_id, p.user_id or "system")

    @contextlib.contextmanager
    def write(self, company_id: str | None, actor_id: str = "system") -> Iterator[UnitOfWork]:
        """A write transaction: commit when the block ends (with the published events), roll back on error."""
        uow = None
        try:
            with self.db.session(company_id=company_id, write=True) as s:
                uow = UnitOfWork(s, self, company_id or "", actor_id)
                uow._claim()
                yield uow
                uow._flush()
                if uow._call is not None:  # the fault suite's crash points of an idempotent call
                    failpoints.reach("uow.before_commit")
            if uow._call is not None:
                failpoints.reach("uow.after_commit")
        except BaseException:
            if uow is not None and uow._call is not None:  # the claim rolled back with the work
                uow._call.claimed = uow._call.answered = False
            raise

    @contextlib.contextmanager
    def within(self, session: Session, company_id: str, actor_id: str = "system") -> Iterator[UnitOfWork]:
        """A unit over a transaction someone else opened (a consumer's): its events are written when the
        block ends, and committed or rolled back with that transaction."""
        uow = UnitOfWork(session, self, company_id, actor_id)
        yield uow
        uow._flush()
