"""Transactional outbox: events are rows written with the change, published later by a relay.

The outbox is the durable log. Rows stay after publishing for a retention window, so when the
broker loses its data (the local broker keeps everything in memory) the relay notices that a topic
it had published to is gone and publishes the retained rows again; consumers are idempotent.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import os
import threading
import time
import uuid
from typing import Iterable

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from kafka.errors import (KafkaConnectionError, KafkaTimeoutError, NoBrokersAvailable, NodeNotReadyError,
                          RequestTimedOutError)
from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.orm import Session

from crm_platform import failpoints, metrics
from crm_platform.context import request_id_var
from crm_platform.db import Database, bulk_insert, in_chunks, utcnow
from crm_platform.messaging import PRODUCER_DELIVERY_TIMEOUT_S, KafkaUnavailable, TopicManager, make_producer
from crm_platform.relay_lease import lease_for
from crm_platform.wakeup import Listener, Wakeup

log = logging.getLogger(__name__)

# a row failing with these failed because the broker could not be reached: not counted against the row
_UNREACHABLE = (KafkaTimeoutError, KafkaConnectionError, NoBrokersAvailable, NodeNotReadyError, RequestTimedOutError)


def event_row(*, topic: str, aggregate_type: str, aggregate_id: str, message: Message, company_id: str,
              actor_id: str) -> dict:
    """Fill the event's metadata and return its outbox row (not yet inserted)."""
    return event_rows([(topic, aggregate_type, aggregate_id, message)], company_id=company_id, actor_id=actor_id)[0]


def event_rows(events: list[tuple[str, str, str, Message]], *, company_id: str, actor_id: str) -> list[dict]:
    """`event_row` for many events of one change, each given as (topic, aggregate type, aggregate id,
    message): one clock reading and one draw of random bytes for all their ids. (Drawn one by one,
    `uuid4`'s `os.urandom` gives up the interpreter lock 20,000 times in a bulk change, and each
    time another thread of the process may keep it for a switch interval.)"""
    now = utcnow()
    ts = Timestamp()
    ts.FromDatetime(now)
    request_id = request_id_var.get()
    random = os.urandom(16 * len(events))
    rows = []
    for i, (topic, aggregate_type, aggregate_id, message) in enumerate(events):
        event_id = str(uuid.UUID(bytes=random[16 * i:16 * i + 16], version=4))
        meta = message.metadata
        meta.event_id = event_id
        meta.event_type = message.DESCRIPTOR.full_name
        meta.occurred_at.CopyFrom(ts)
        meta.company_id = company_id
        meta.actor_id = actor_id
        meta.aggregate_id = aggregate_id
        meta.request_id = request_id
        rows.append(dict(event_id=event_id, company_id=company_id, topic=topic, aggregate_type=aggregate_type,
                         aggregate_id=aggregate_id, event_type=meta.event_type, payload=message.SerializeToString(),
                         headers={"request_id": request_id}, created_at=now, attempts=0))
    return rows


# How a relay learns that there are rows to publish, without polling for them: the transaction that writes
# outbox rows marks OUTBOX (crm_platform.wakeup): an in-process event after its commit (role `all`, and
# SQLite), and on PostgreSQL, from any process, a NOTIFY on OUTBOX_CHANNEL delivered when it commits.
OUTBOX_CHANNEL = "crm_outbox"
OUTBOX = Wakeup(OUTBOX_CHANNEL)
OUTBOX_WRITTEN = OUTBOX.event
# Whether this process also runs roles that write outbox rows (`runtime.run` says: every role but `relay`):
# then on SQLite every write wakes the relay through OUTBOX_WRITTEN and it need not poll fast for rows of
# other processes. Left unset (a relay process alone, or a test's relay), it polls every `idle_sleep`.
WRITERS_IN_PROCESS = threading.Event()


def _written(session: Session) -> None:
    """Outbox rows were written in this transaction: wake the relays when it commits."""
    OUTBOX.mark(session)


def add_event(session: Session, outbox: Table, *, topic: str, aggregate_type: str, aggregate_id: str,
              message: Message, company_id: str, actor_id: str) -> str:
    """Fill the event's metadata and insert it into the outbox in the caller's transaction."""
    row = event_row(topic=topic, aggregate_type=aggregate_type, aggregate_id=aggregate_id, message=message,
                    company_id=company_id, actor_id=actor_id)
    session.execute(outbox.insert().values(**row))
    _written(session)
    return row["event_id"]


def add_events(session: Session, outbox: Table, rows: list[dict]) -> None:
    """Insert many rows made by `event_row`, in order (`db.bulk_insert`: COPY for many on PostgreSQL)."""
    bulk_insert(session, outbox, rows)
    if rows:
        _written(session)


class OutboxRelay:
    """Publish unpublished outbox rows in order, mark them only after the broker acknowledged.

    Per-key order (the key is the row's aggregate id, the message key):
    - `run` publishes only while it holds its database's lease (`relay_lease`): one active relay per
      service database; the others stand by and try the lease every `lease_retry` seconds.
    - On PostgreSQL a cycle takes its rows `FOR UPDATE` (waiting, not skipping): should two relays ever
      work at once (a holder that lost its lease finishing its batch, a direct `publish_once`), the
      second waits for the first's batch to be published and marked, so batches still go out one
      after another.
    - A row that fails holds its key back: the key's later rows are neither sent in that cycle nor
      taken while the row waits for its next attempt (backoff `retry_backoff` doubling up to
      `retry_backoff_max`); other keys go on. A failure counts as an attempt unless the broker was
      just unreachable (a timeout or a lost connection; an outage is waited out, not held against
      the row). After `max_attempts` counted failures the row is **parked** (`parked_at`, with its
      `last_error`): it leaves the relay's work, its key's later rows go on, and
      `crm_outbox_parked_total` counts it for an alert. Parking releases the key: a consumer sees the
      key's later events without the parked one, rather than nothing more of that aggregate ever.
    """

    def __init__(self, db: Database, outbox: Table, bootstrap: str, topics: Iterable[str], *,
                 batch: int = 200, idle_sleep: float = 0.05, local_idle: float = 2.0,
                 retention: _dt.timedelta = _dt.timedelta(days=7), partitions: int = 6,
                 purge_every: float = 300.0, idempotency=None, max_attempts: int = 10,
                 retry_backoff: float = 0.5, retry_backoff_max: float = 30.0, lease_retry: float = 1.0,
                 idempotent_producer: bool = False):
        self.db = db
        self.idempotency = idempotency  # an IdempotencyStore whose expired keys `purge` deletes too
        self.outbox = outbox
        self.bootstrap = bootstrap
        self.topics = sorted(set(topics))
        self.batch = batch
        self.idle_sleep = idle_sleep
        self.local_idle = local_idle
        self._local_writes = False
        self.retention = retention
        self.purge_every = purge_every
        self.max_attempts = max(1, max_attempts)
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.lease_retry = lease_retry
        self.idempotent_producer = idempotent_producer
        self.topic_manager = TopicManager(bootstrap, partitions)
        self.lease = lease_for(db, outbox.name)
        self._producer = None
        # key -> (id of its row that failed, monotonic time of that row's next attempt)
        self._holds: dict[str, tuple[int, float]] = {}
        self._lost = False  # the lease was lost in this loop's last turn
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self._listener = None if db.is_sqlite else Listener(db.url, self.stop_event, OUTBOX_CHANNEL)

    @property
    def marker_topic(self) -> str:
        """A topic only this service's relays create: finding it missing means the broker lost its data."""
        return "crm._relay." + self.topics[0].split(".")[1]

    def _ensure_topics(self) -> bool:
        """Create missing topics; True when the broker had lost ours and retained rows were set to go again."""
        # Consumers create the topics they read too, so after a broker restart one of them may have
        # re-created this service's topics first; the marker topic is created by no one else.
        lost = bool(TopicManager(self.bootstrap, 1).ensure([self.marker_topic]))
        created = self.topic_manager.ensure(self.topics)
        return bool((lost or created) and self._republish_if_forgotten(self.topics if lost else created))

    def _republish_if_forgotten(self, created: list[str]) -> int:
        """A topic we had published to was missing: the broker lost its data, so publish again."""
        since = utcnow() - self.retention
        with self.db.session(write=True) as s:
            n = s.execute(update(self.outbox).where(self.outbox.c.topic.in_(created),
                                                     self.outbox.c.published_at.is_not(None),
                                                     self.outbox.c.created_at >= since)
                          .values(published_at=None)).rowcount
        if n:
            log.warning("broker lost topics %s; re-publishing %d retained events", created, n)
        return n

    def republish(self, since: _dt.datetime) -> int:
        """Mark every retained event created after `since` for publishing again (operator command)."""
        with self.db.session(write=True) as s:
            return s.execute(update(self.outbox).where(self.outbox.c.created_at >= since,
                                                       self.outbox.c.parked_at.is_(None))
                             .values(published_at=None)).rowcount

    def unpark(self, ids: Iterable[int] | None = None) -> int:
        """Give parked rows (`ids`, or all) to the relay again, with their attempts reset (operator command).
        They go out after the later rows of their keys that were published meanwhile."""
        o = self.outbox
        cond = [o.c.parked_at.is_not(None)] + ([o.c.id.in_(list(ids))] if ids is not None else [])
        with self.db.session(write=True) as s:
            return s.execute(update(o).where(*cond).values(parked_at=None, attempts=0)).rowcount

    def publish_once(self) -> int:
        """Publish one batch; return how many rows were published. (Whether or not this relay holds the
        lease: `run` asks for it; a direct call is an operator's or a test's.)"""
        if self._producer is None:
            self._ensure_topics()
            self._producer = make_producer(self.bootstrap, idempotent=self.idempotent_producer)
        now = time.monotonic()
        held = list(self._holds)
        due = [row_id for row_id, at in self._holds.values() if at <= now]
        cycle = self._publish_locked if not self.db.is_sqlite else self._publish_unlocked
        done, failed = cycle(held, due)
        metrics.OUTBOX_PUBLISHED.inc(len(done))
        if failed and not done and not any(counted for _, _, counted in failed):
            raise KafkaUnavailable(f"{len(failed)} events not acknowledged: {failed[0][1]}")
        return len(done)

    def _publish_locked(self, held: list[str], due: list[int]) -> tuple[list[int], list]:
        """PostgreSQL: the rows stay locked while they are produced and marked in the same transaction.

        A cycle runs every few milliseconds per event at a steady pace, so it talks to the driver directly,
        fixed statements on a pooled connection: through a session and statements built per cycle it
        took more than twice the interpreter time (py-spy, 500 stage changes at 25/s: 385 samples against
        170, of which producing is about a third). `prepare=False`
        plans each poll for the table as it is now: a prepared statement may keep one generic plan, and
        one made while the table was empty (a new database) is a sequential scan, kept until autovacuum
        analyzes the table, reading every published row twice a second (the bench's event-rate run lost
        half its speed to it as the outbox grew)."""
        import psycopg
        from psycopg.rows import namedtuple_row

        conn = self.db.write_engine.raw_connection()
        try:
            with conn.driver_connection.cursor(row_factory=namedtuple_row) as cur:
                cur.execute(self._sql["take"], (due, held, self.batch), prepare=False)
                rows = cur.fetchall()
                done, failed = self._produce(rows) if rows else ([], [])
                if done:
                    failpoints.reach("relay.after_publish")  # acknowledged by the broker, not marked yet
                    cur.execute(self._sql["done"], (utcnow(), done), prepare=False)
                for row, err, counted in failed:
                    if not counted:
                        cur.execute(self._sql["noted"], (err[:2000], row.id), prepare=False)
                    elif row.attempts + 1 >= self.max_attempts:
                        cur.execute(self._sql["parked"], (err[:2000], utcnow(), row.id), prepare=False)
                    else:
                        cur.execute(self._sql["failed"], (err[:2000], row.id), prepare=False)
            conn.commit()
        except psycopg.OperationalError:
            conn.invalidate()  # the server or the network dropped it: the pool must not hand it out again
            raise
        except BaseException:
            try:
                conn.rollback()
            except psycopg.Error:
                conn.invalidate()
            raise
        finally:
            conn.close()  # back to the pool
        self._after_commit(rows, due, done, failed)
        return done, failed

    @functools.cached_property
    def _sql(self) -> dict[str, str]:
        t = f'"{self.outbox.name}"'
        return {"take": f"SELECT id, event_id, topic, aggregate_id, event_type, payload, headers, attempts FROM {t} "
                        "WHERE published_at IS NULL AND parked_at IS NULL "
                        "AND (id = ANY(%s::bigint[]) OR aggregate_id <> ALL(%s::text[])) "
                        "ORDER BY id LIMIT %s FOR UPDATE",
                "done": f"UPDATE {t} SET published_at = %s WHERE id = ANY(%s)",
                "failed": f"UPDATE {t} SET attempts = attempts + 1, last_error = %s WHERE id = %s",
                "parked": f"UPDATE {t} SET attempts = attempts + 1, last_error = %s, parked_at = %s WHERE id = %s",
                "noted": f"UPDATE {t} SET last_error = %s WHERE id = %s"}

    def _publish_unlocked(self, held: list[str], due: list[int]) -> tuple[list[int], list]:
        """SQLite has no row locks: read, produce, then mark in a short write transaction (the lease keeps
        other relays of the database from publishing meanwhile)."""
        o = self.outbox
        with self.db.session() as s:
            rows = s.execute(select(o.c.id, o.c.event_id, o.c.topic, o.c.aggregate_id, o.c.event_type, o.c.payload,
                                    o.c.headers, o.c.attempts)
                             .where(o.c.published_at.is_(None), o.c.parked_at.is_(None),
                                    or_(o.c.id.in_(due), o.c.aggregate_id.not_in(held)))
                             .order_by(o.c.id).limit(self.batch)).all()
        done, failed = self._produce(rows) if rows else ([], [])
        if done:
            failpoints.reach("relay.after_publish")  # acknowledged by the broker, not marked yet
        if done or failed:
            with self.db.session(write=True) as s:
                now = utcnow()
                for _ in in_chunks(s, lambda one_of: update(o).where(one_of(o.c.id)).values(published_at=now), done):
                    pass
                for row, err, counted in failed:
                    values = {"last_error": err[:2000]}
                    if counted:
                        values["attempts"] = o.c.attempts + 1
                        if row.attempts + 1 >= self.max_attempts:
                            values["parked_at"] = now
                    s.execute(update(o).where(o.c.id == row.id).values(**values))
        self._after_commit(rows, due, done, failed)
        return done, failed

    def _produce(self, rows) -> tuple[list[int], list]:
        """Send the rows in id order and wait for the broker; return the ids acknowledged and the failures
        that hold a key back: (row, error, counted as an attempt), its key's first failed row only.

        A row failing at once (too large) keeps its key's later rows of the batch from being sent. Rows
        already sent behind one that fails later are in the broker's log behind it (one request in flight
        per connection), so they are marked published: re-sending them would not undo their order."""
        sent = []
        stopped: set[str] = set()
        for row in rows:
            if row.aggregate_id in stopped:
                continue  # held behind an earlier row of its key
            headers = [("event_id", row.event_id.encode()), ("event_type", row.event_type.encode()),
                       ("request_id", (row.headers or {}).get("request_id", "").encode())]
            try:
                fut = self._producer.send(row.topic, key=row.aggregate_id.encode(), value=row.payload,
                                          headers=headers)
            except KafkaTimeoutError:
                raise  # no metadata within max_block_ms: the broker is unreachable, the cycle waits
            except Exception as exc:  # noqa: BLE001 - this row cannot be sent (e.g. an invalid topic)
                fut = exc
            if isinstance(fut, Exception) or (fut.is_done and fut.failed()):
                stopped.add(row.aggregate_id)
            sent.append((row, fut))
        if sent:
            self._producer.flush(timeout=PRODUCER_DELIVERY_TIMEOUT_S + 1)
        done, failed, failed_keys = [], [], set()
        for row, fut in sent:
            try:
                if isinstance(fut, Exception):
                    raise fut
                fut.get(timeout=0)
            except Exception as exc:  # noqa: BLE001 - any send failure keeps the row pending
                if row.aggregate_id not in failed_keys:
                    failed_keys.add(row.aggregate_id)
                    failed.append((row, repr(exc), not isinstance(exc, _UNREACHABLE)))
                continue
            if row.aggregate_id in failed_keys:
                log.warning("outbox row %s was acknowledged after an earlier row of key %s failed", row.id,
                            row.aggregate_id)
            done.append(row.id)
        return done, failed

    def _after_commit(self, rows, due: list[int], done: list[int], failed) -> None:
        """The cycle is recorded: let keys whose held row went out (or is gone) go on, hold the keys of
        failed rows until their next attempt, and let go of those just parked."""
        taken = {row.id for row in rows}
        complete = len(rows) < self.batch  # every pending row not held back was taken
        last = rows[-1].id if rows else 0
        gone = {i for i in due if i not in taken and (complete or i < last)} | set(done)
        self._holds = {k: v for k, v in self._holds.items() if v[0] not in gone}
        now = time.monotonic()
        for row, err, counted in failed:
            attempts = row.attempts + (1 if counted else 0)
            if counted and attempts >= self.max_attempts:
                self._holds.pop(row.aggregate_id, None)
                metrics.OUTBOX_PARKED.labels(row.topic).inc()
                log.error("outbox row %s (event %s, key %s) parked after %d attempts: %s", row.id, row.event_id,
                          row.aggregate_id, attempts, err)
                continue
            wait = min(self.retry_backoff * 2 ** max(attempts - 1, 0), self.retry_backoff_max)
            self._holds[row.aggregate_id] = (row.id, now + wait)
            log.warning("outbox row %s (key %s) failed (attempt %d/%d), next in %.1fs: %s", row.id,
                        row.aggregate_id, attempts, self.max_attempts, wait, err)

    def purge(self) -> int:
        """Delete published rows older than the retention window (and expired idempotency keys)."""
        with self.db.session(write=True) as s:
            n = s.execute(delete(self.outbox).where(self.outbox.c.published_at.is_not(None),
                                                    self.outbox.c.created_at < utcnow() - self.retention)).rowcount
        if self.idempotency is not None:
            self.idempotency.purge()
        return n

    def run(self) -> None:
        """Relay until stopped, while holding the lease: back off while the broker is down, re-check topics
        now and then."""
        backoff = 0.5
        last_check = last_purge = time.monotonic()
        while not self.stop_event.is_set():
            try:
                if not self._lead():
                    self.ready.set()  # standing by is this relay's healthy state
                    # a relay that has just lost the lease (its connection broke: maybe its own network)
                    # gives the standbys the first chance
                    self.stop_event.wait(self.lease_retry * (3 if self._lost else 1))
                    self._lost = False
                    continue
                n = self.publish_once()
                self.ready.set()
                backoff = 0.5
                republished = False
                if time.monotonic() - last_check > 5:
                    last_check = time.monotonic()
                    republished = self._ensure_topics()
                if time.monotonic() - last_purge > self.purge_every:  # a scan of the whole outbox
                    last_purge = time.monotonic()
                    self.purge()
                if n < self.batch and not republished:  # rows set to go again: publish them, not wait
                    self._idle_wait()
            except Exception as exc:  # noqa: BLE001 - the relay must outlive any outage
                log.warning("outbox relay: %s; retrying in %.1fs", exc, backoff)
                self._reset_producer()
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self._reset_producer()
        self.lease.release()
        metrics.OUTBOX_RELAY_LEADER.set(0)
        if self._listener is not None:
            self._listener.close()

    def _lead(self) -> bool:
        """Hold the lease (take it if free); a relay that has just taken it starts from the database alone."""
        was = self.lease.holding
        leads = self.lease.acquire()
        if leads and not was:
            self._holds.clear()
        elif was and not leads:
            self._lost = True
            self._reset_producer()
        metrics.OUTBOX_RELAY_LEADER.set(1 if leads else 0)
        return leads

    def _idle_wait(self) -> None:
        """Wait for rows to publish. On PostgreSQL every transaction that writes outbox rows notifies the
        relays, from whichever process: wait for that, polling every `local_idle` for rows nothing
        announced (set back to unpublished by `republish`) and held rows now due. On SQLite a commit in
        this process wakes the relay at once. When this process also runs the roles that write
        (`WRITERS_IN_PROCESS`, role `all`: `make run`), or once one of its commits has woken the relay, a
        poll every `local_idle` only catches the rest; a relay alone polls every `idle_sleep` for the rows
        other processes write. (Idle, the 50 ms poll of an `all` process cost ~35 ms of CPU a second, the
        largest part of an idle service's: 2026-12-03, /proc per thread.)"""
        if self._listener is not None:
            self._listener.wait(self.local_idle)
            return
        local = self._local_writes or WRITERS_IN_PROCESS.is_set()
        if OUTBOX_WRITTEN.wait(self.local_idle if local else self.idle_sleep):
            OUTBOX_WRITTEN.clear()  # before the next read: a commit after this wakes the relay again
            self._local_writes = True

    def _reset_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # noqa: BLE001
                pass
            self._producer = None
