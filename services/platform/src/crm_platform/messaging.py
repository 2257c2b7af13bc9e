"""Kafka plumbing: topic creation, the producer, and the idempotent consumer loop.

The consumer commits offsets by hand after the database commit. Each event's effect is applied
in the same transaction as a `processed_events` row keyed by (consumer, event id), so a
redelivered event is skipped. A transient failure (`crm_platform.faults`: the database, another
service, the broker) is waited out for as long as it lasts, with the offset uncommitted and the
group membership kept; a deterministic one parks the event in the service's `dead_letters` table
(`crm_platform.dlq`, copied to `<topic>.dlq`) and the consumer moves on.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import KafkaAdminClient
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_platform import failpoints, metrics
from crm_platform.kafka_auth import client_config
from crm_platform.context import request_id_var
from crm_platform.dlq import DeadLetters
from crm_platform.faults import PoisonMessage, Retryable, backoff, describe, is_transient
from crm_platform.membership import Revocations, while_keeping_membership
from crm_platform.membership import close as _close  # the name the docs give
from crm_platform.topics import create as create_topics
from crm_platform.topics import topic_of
from crm_platform.db import Database, bulk_insert, in_chunks, utcnow

log = logging.getLogger(__name__)


# How long the broker may hold a fetch that finds nothing new, for a consumer whose latency is a
# goal (automation's). Apache Kafka answers a waiting fetch as soon as a record arrives, so there this
# only bounds idle polling; Tansu (dev and tests) answers at the end of the wait, so it is most of an
# event's delivery time: at kafka-python's default of 500 ms, produce->consume took 135 ms p50 / 254 ms
# p99 there; at 100 ms, 30 / 54 ms (bench floor C). Not the default: five times the idle fetches cost
# every consumer's process CPU (the card lost ~20 % of its throughput with all consumers at 100 ms).
FETCH_MAX_WAIT_MS = 100


class KafkaUnavailable(RuntimeError, Retryable):
    """The broker did not acknowledge (transient)."""


PRODUCER_DELIVERY_TIMEOUT_S = 9.0  # a record is retried until acknowledged or this old (flush waits longer)


def make_producer(bootstrap: str, *, idempotent: bool = False) -> KafkaProducer:
    """Create a producer that waits for every in-sync replica and fails fast when the broker is down.

    Per-key order with retries: one request in flight per connection, so a batch being retried is never
    overtaken by a later batch of its partition; retries go on (100 ms apart) until a record is
    acknowledged or `PRODUCER_DELIVERY_TIMEOUT_S` old, so a record fails only by a deterministic error
    (too large) or by that timeout. `idempotent` (Apache Kafka; `KAFKA_IDEMPOTENT_PRODUCER`) makes the
    broker drop a retry's duplicate too: kafka-python 2.3 supports it with exactly these settings, but
    the dev broker (Tansu 0.6) answers its InitProducerId with UNKNOWN and every send fails, so it is off
    by default (a retry may then write a record twice: the same event id, which consumers skip)."""
    return KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=2, retries=2**31 - 1,
                         delivery_timeout_ms=int(PRODUCER_DELIVERY_TIMEOUT_S * 1000), max_block_ms=5000,
                         request_timeout_ms=5000, max_in_flight_requests_per_connection=1,
                         enable_idempotence=idempotent, **client_config())


class TopicManager:
    """Create topics that do not exist yet; report which ones had to be created."""

    def __init__(self, bootstrap: str, partitions: int = 6):
        self.bootstrap = bootstrap
        self.partitions = partitions

    def ensure(self, topics: Iterable[str]) -> list[str]:
        """Create the missing topics (with the process's replication, `crm_platform.topics.replication`);
        return the names that were created now."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap.split(","), request_timeout_ms=5000,
                                 **client_config())
        try:
            return create_topics(admin, list(topics), self.partitions)[0]
        finally:
            admin.close()


@dataclass(frozen=True)
class Subscription:
    """One event type a consumer handles: decode with `message_cls`, apply with `handler`.

    The topic is the one the event's contract names (`crm_platform.topics`); `topic` overrides it
    (tests read private topics). `batch_handler`, when given, applies many events of one company in
    one transaction and returns the ids of those it left undone; `IdempotentConsumer.handle_batch`
    tells when it is used.
    """

    message_cls: type
    handler: Callable[[Session, object], None]
    batch_handler: Callable[[Session, list], set[str]] | None = None
    topic: str = ""

    def __post_init__(self) -> None:
        if not self.topic:
            object.__setattr__(self, "topic", topic_of(self.message_cls))

    @property
    def event_type(self) -> str:
        return self.message_cls.DESCRIPTOR.full_name


class IdempotentConsumer:
    """Consume events in a group and apply each one exactly once to the service's database.

    An event that fails transiently (`faults.is_transient`) is tried again after a capped, jittered
    backoff (0.2 s doubling to 30 s) for as long as it fails so: its key's later events wait behind
    it, its partition's offset is not committed, and the poll thread keeps the membership (see
    `membership.while_keeping_membership`). Any other failure is tried `max_attempts` times (`backoff`
    doubling), then the event is dead-lettered: kept in `dead_letters` (the service's own table, from
    the metadata of `processed` unless given) with its reason, copied to `<topic>.dlq`, and
    `on_dead_letter` is told. An undecodable message is dead-lettered at once.
    """

    def __init__(self, db: Database, processed: Table, bootstrap: str, name: str,
                 subscriptions: Iterable[Subscription], *, max_attempts: int = 5, backoff: float = 0.2,
                 on_dead_letter: Callable[[object, str], None] | None = None, partitions: int = 6,
                 concurrency: int = 8, fetch_max_wait_ms: int = 500, dead_letters: Table | None = None):
        self.db = db
        self.processed = processed
        self.dead_letters = DeadLetters(db, dead_letters if dead_letters is not None
                                        else processed.metadata.tables.get("dead_letters"))
        self.bootstrap = bootstrap
        self.name = name
        self.subs = {s.event_type: s for s in subscriptions}
        self.topics = sorted({s.topic for s in self.subs.values()})
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.on_dead_letter = on_dead_letter
        self.partitions = partitions
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.concurrency = concurrency
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._pool: ThreadPoolExecutor | None = None
        self._runner: ThreadPoolExecutor | None = None  # handles a poll while the poll thread keeps polling
        self._revoked: set = set()  # partitions taken away while the current poll is handled
        self._dlq_producer: KafkaProducer | None = None
        self._dlq_lock = threading.Lock()

    def _consumer(self) -> KafkaConsumer:
        TopicManager(self.bootstrap, self.partitions).ensure(self.topics)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap.split(","), group_id=self.name,
                                 enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=200,
                                 fetch_max_wait_ms=self.fetch_max_wait_ms,
                                 # on Tansu the session timeout also bounds how long a member that
                                 # vanished (killed, or closed without leaving: see _close) holds
                                 # up the next join: its partitions move ~20 s after it went
                                 session_timeout_ms=10000, heartbeat_interval_ms=1000,
                                 # Tansu answers fetches larger than kafka-python's 1 MB frame limit
                                 receive_message_max_bytes=64 * 1024 * 1024,
                                 # also the rebalance timeout: a member that vanished holds a
                                 # rebalance at most this long
                                 max_poll_interval_ms=30000, **client_config())
        consumer.subscribe(self.topics, listener=Revocations(self._revoked))
        return consumer

    def run(self) -> None:
        """Consume until stopped, reconnecting after broker failures."""
        while not self.stop_event.is_set():
            consumer = None
            try:
                consumer = self._consumer()
                while not self.stop_event.is_set():
                    batch = consumer.poll(timeout_ms=500)
                    if consumer.assignment():
                        self.ready.set()
                    if not batch:
                        continue
                    failpoints.kill_thread("consumer.poll_thread")  # the loop's thread dies (liveness test)
                    offsets = self._handle_keeping_membership(consumer, batch)
                    owned = consumer.assignment()
                    offsets = {tp: o for tp, o in offsets.items() if tp in owned and tp not in self._revoked}
                    if offsets:
                        consumer.commit({tp: OffsetAndMetadata(offset, None, -1) for tp, offset in offsets.items()})
            except Exception as exc:  # noqa: BLE001 - reconnect after any broker failure
                log.warning("consumer %s: %s; reconnecting", self.name, exc)
                self.stop_event.wait(1.0)
            finally:
                if consumer is not None:
                    _close(consumer)
        for pool in (self._runner, self._pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _handle_keeping_membership(self, consumer: KafkaConsumer, batch: dict) -> dict:
        """`handle_batch` on a worker thread while this (the poll) thread keeps the group membership
        (`membership.while_keeping_membership`); partitions a rebalance took meanwhile are in `_revoked`."""
        self._revoked.clear()
        if self._runner is None:
            self._runner = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-poll")
        return while_keeping_membership(consumer, self._runner.submit(self.handle_batch, batch), self.name)

    def handle_batch(self, batch: dict) -> dict:
        """Handle one poll's records; return the offset to commit per partition.

        First the events whose subscription has a batch handler: per company and handler, one
        transaction marks them processed and applies them all (`_apply_together`). Whatever that
        does not finish (the handler left it, the transaction failed, the message is poison) is
        then handled one by one (`handle`), with its retries and dead-lettering; so an event it
        leaves may be applied after a later event of the same key. One by one, the records of one
        key (one aggregate: a deal, a client) are handled in order; different keys run side by side
        on `concurrency` threads, so one slow event (a gRPC call, a database commit) does not hold
        up the rest of its partition. A partition's offset is committed only when every one of its
        records was handled; what is not (the consumer is stopping) is redelivered to whoever takes
        the partition, and skipped there as a duplicate if it had been applied.
        """
        done = self._apply_together(batch)
        chains: dict[tuple, list] = {}
        for tp, records in batch.items():
            for record in records:
                if (tp, record.offset) not in done:
                    chains.setdefault((tp, record.key), []).append(record)

        def run_chain(chain: list) -> bool:
            for record in chain:
                if self._interrupted(record) or self.handle(record) == "abandoned":
                    return False  # the key's later events wait for the redelivery
            return True

        if self.concurrency > 1 and len(chains) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"{self.name}-events")
            finished = list(self._pool.map(run_chain, chains.values()))
        else:
            finished = [run_chain(chain) for chain in chains.values()]
        incomplete = {tp for (tp, _), ok in zip(chains, finished) if not ok}
        return {tp: records[-1].offset + 1 for tp, records in batch.items() if records and tp not in incomplete}

    def _apply_together(self, batch: dict) -> set[tuple]:
        """Apply the poll's batchable events, one transaction per (company, batch handler); return the
        (partition, offset) of every record finished here. (One per partition too, side by side, made
        fewer tasks per second: more, smaller calls and transactions cost records more per task.)"""
        groups: dict[tuple, list] = {}
        for tp, records in batch.items():
            for record in records:
                sub = self.subs.get(self._header(record, "event_type"))
                if sub is None or sub.batch_handler is None:
                    continue
                try:
                    decoded = self.decode(record)
                except PoisonMessage:
                    continue  # dead-lettered one by one
                message = decoded[1]
                groups.setdefault((message.metadata.company_id, sub.batch_handler), []).append((tp, record, message))
        done: set[tuple] = set()
        for (company_id, handler), items in groups.items():
            if self.stop_event.is_set():
                break
            try:
                done |= self._apply_group(company_id, handler, items)
            except Exception as exc:  # noqa: BLE001 - the one-by-one path retries and dead-letters
                log.warning("consumer %s: %d events together failed (%s); handling them one by one",
                            self.name, len(items), exc)
        return done

    def _apply_group(self, company_id: str, handler: Callable, items: list) -> set[tuple]:
        request_id_var.set("")  # many requests' events: none of their ids is this work's
        ids = list(dict.fromkeys(m.metadata.event_id for _, _, m in items))
        with self.db.session(company_id=company_id, write=True) as s:
            seen = {eid for rows in in_chunks(s, lambda one_of: select(self.processed.c.event_id).where(
                self.processed.c.consumer == self.name, one_of(self.processed.c.event_id)), ids)
                for eid in rows.scalars()}
            fresh = {}
            for _, record, message in items:
                if message.metadata.event_id in seen or message.metadata.event_id in fresh:
                    log.info("event duplicate %s", self._header(record, "event_type"),
                             extra={"event_id": message.metadata.event_id, "consumer": self.name})
                else:
                    fresh[message.metadata.event_id] = message
            left = handler(s, list(fresh.values())) if fresh else set()
            now = utcnow()
            bulk_insert(s, self.processed, [{"consumer": self.name, "event_id": eid, "processed_at": now}
                                            for eid in fresh if eid not in left])
        applied = len(fresh) - len(left & fresh.keys())
        if applied:
            failpoints.reach("consumer.after_db_commit")
        metrics.EVENTS_CONSUMED.labels(self.name, "applied").inc(applied)
        metrics.EVENTS_CONSUMED.labels(self.name, "duplicate").inc(len(items) - len(fresh))
        log.info("%d events applied together, %d duplicates, %d left", applied, len(items) - len(fresh),
                 len(left), extra={"consumer": self.name})
        return {(tp, record.offset) for tp, record, message in items if message.metadata.event_id not in left}

    @staticmethod
    def _header(record, name: str) -> str:
        for key, value in record.headers or ():
            if key == name:
                return value.decode()
        return ""

    def decode(self, record):
        """Return (subscription, message) for a record, None to skip it, or raise PoisonMessage."""
        event_type = self._header(record, "event_type")
        sub = self.subs.get(event_type)
        if sub is None:
            return None
        try:
            message = sub.message_cls.FromString(record.value)
        except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
            raise PoisonMessage(f"cannot decode {event_type}: {exc}") from exc
        if not message.metadata.event_id or not message.metadata.company_id:
            raise PoisonMessage(f"{event_type} without event id or company id")
        return sub, message

    def apply(self, sub: Subscription, message) -> bool:
        """Apply one event in one transaction; False when it had been applied before."""
        meta = message.metadata
        with self.db.session(company_id=meta.company_id, write=True) as s:
            try:
                with s.begin_nested():
                    s.execute(self.processed.insert().values(consumer=self.name, event_id=meta.event_id,
                                                             processed_at=utcnow()))
            except IntegrityError:
                return False
            sub.handler(s, message)
        return True

    def handle(self, record) -> str:
        """Handle one record: applied, duplicate, skipped, dead_lettered, or abandoned (the consumer is
        stopping or lost the partition while the event waited: it is redelivered, its offset was not
        committed)."""
        request_id_var.set(self._header(record, "request_id"))
        try:
            decoded = self.decode(record)
        except PoisonMessage as exc:
            return self._dead_letter(record, describe(exc))
        if decoded is None:
            metrics.EVENTS_CONSUMED.labels(self.name, "skipped").inc()
            return "skipped"
        sub, message = decoded
        failures = waits = 0
        while True:
            try:
                outcome = "applied" if self.apply(sub, message) else "duplicate"
            except Exception as exc:  # noqa: BLE001 - waited out, or retried and dead-lettered
                error = describe(exc)
                if is_transient(exc):  # not the event's fault: wait, for as long as it takes
                    waits += 1
                    delay = backoff(waits)
                    metrics.EVENTS_CONSUMED.labels(self.name, "waiting").inc()
                    log.warning("event %s waits out a transient failure (try %d, next in %.1f s): %s",
                                message.metadata.event_id, waits, delay, error, extra={"consumer": self.name})
                    if self._wait(delay, record):
                        return "abandoned"
                    continue
                failures += 1
                log.warning("event %s failed (attempt %d/%d): %s", message.metadata.event_id, failures,
                            self.max_attempts, error, extra={"consumer": self.name})
                if failures >= self.max_attempts:
                    return self._dead_letter(record, error, message)
                if self._wait(self.backoff * (2 ** (failures - 1)), record):
                    return "abandoned"
                continue
            if outcome == "applied":
                failpoints.reach("consumer.after_db_commit")
            metrics.EVENTS_CONSUMED.labels(self.name, outcome).inc()
            log.info("event %s %s", outcome, sub.event_type,
                     extra={"event_id": message.metadata.event_id, "consumer": self.name})
            return outcome

    def redrive(self, record) -> tuple[str, str]:
        """Apply a parked record (`crm_platform.dlq`) once more, through the same decode and `apply` as a
        delivery (so an event applied meanwhile is a duplicate): ("applied" | "duplicate", "") or
        ("failed", the reason). Tried once: the operator runs the command again."""
        request_id_var.set(self._header(record, "request_id"))
        try:
            decoded = self.decode(record)
            if decoded is None:
                return "failed", f"{self.name} does not handle {self._header(record, 'event_type') or 'this message'}"
            sub, message = decoded
            outcome = "applied" if self.apply(sub, message) else "duplicate"
        except Exception as exc:  # noqa: BLE001 - reported; the row stays parked
            return "failed", describe(exc)
        metrics.EVENTS_CONSUMED.labels(self.name, f"redriven_{outcome}").inc()
        log.info("redriven event %s %s", outcome, sub.event_type,
                 extra={"event_id": message.metadata.event_id, "consumer": self.name})
        return outcome, ""

    def _interrupted(self, record) -> bool:
        """Stop working on `record`: the consumer is stopping, or a rebalance took its partition."""
        return self.stop_event.is_set() or TopicPartition(record.topic, record.partition) in self._revoked

    def _wait(self, seconds: float, record) -> bool:
        """Sleep `seconds` unless interrupted first; True when interrupted."""
        deadline = time.monotonic() + seconds
        while not self._interrupted(record):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.stop_event.wait(min(left, 0.25))
        return True

    def park(self, topic: str, key: bytes | None, value: bytes, headers: list) -> bool:
        """Copy a dead letter to `<topic>.dlq` for whoever watches it; a few tries, then give up (the
        `dead_letters` row is the record that counts, and the redrive reads it)."""
        with self._dlq_lock:
            if self._dlq_producer is None:
                self._dlq_producer = make_producer(self.bootstrap)
        for attempt in range(3):
            try:
                self._dlq_producer.send(f"{topic}.dlq", key=key, value=value, headers=headers).get(timeout=10)
                return True
            except Exception as exc:  # noqa: BLE001 - keep trying a little
                log.warning("dead-letter copy to %s.dlq failed: %s", topic, exc)
                time.sleep(0.2 * 2 ** attempt)
        return False

    def _dead_letter(self, record, error: str, message=None) -> str:
        """Keep the record in `dead_letters` (waiting out a database outage first: its offset must not be
        committed before the row is there), copy it to `<topic>.dlq`, tell `on_dead_letter`."""
        waits = 0
        while True:
            try:
                row_id = self.dead_letters.record(self.name, record, error, message)
                break
            except Exception as exc:  # noqa: BLE001 - the row must exist before the offset moves on
                waits += 1
                log.warning("dead letter of %s@%d not recorded yet (try %d): %s", record.topic, record.offset, waits,
                            describe(exc), extra={"consumer": self.name})
                if self._wait(backoff(waits), record):
                    return "abandoned"
        metrics.EVENTS_DEAD_LETTERED.labels(self.name).inc()
        metrics.EVENTS_CONSUMED.labels(self.name, "dead_lettered").inc()
        log.error("event dead-lettered from %s (dead letter %s): %s", record.topic, row_id, error,
                  extra={"consumer": self.name, "offset": record.offset, "partition": record.partition,
                         "dead_letter_id": row_id})
        headers = list(record.headers or ()) + [("error", error.encode()[:4000]), ("consumer", self.name.encode())]
        self.park(record.topic, record.key, record.value, headers)
        if self.on_dead_letter is not None and message is not None:
            try:
                self.on_dead_letter(message, error)
            except Exception:  # noqa: BLE001
                log.exception("dead-letter hook failed")
        return "dead_lettered"


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `predicate` until true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


__all__ = ["IdempotentConsumer", "KafkaUnavailable", "PoisonMessage", "Retryable", "Subscription", "TopicManager",
           "TopicPartition", "make_producer", "wait_for"]
