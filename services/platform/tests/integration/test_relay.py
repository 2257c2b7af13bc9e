"""The outbox relay's per-key order, parking and lease, against the real broker, on SQLite and PostgreSQL.

A row fails for real here: a payload larger than the producer's maximum request size (1 MiB), which
kafka-python refuses, as a broker refuses a message above its limit.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, select, update

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.db import Database
from crm_platform.messaging import wait_for
from crm_platform.outbox import OutboxRelay, add_event
from crm_platform.tables import add_platform_tables

TABLES = add_platform_tables(MetaData())
OUTBOX = TABLES["outbox"]
TOO_LARGE = "x" * (2 * 1024 * 1024)


@pytest.fixture(scope="module")
def db(database_url):
    d = Database(database_url)
    OUTBOX.metadata.create_all(d.write_engine)
    yield d
    OUTBOX.metadata.drop_all(d.write_engine)
    d.dispose()


@pytest.fixture()
def topic(db) -> str:
    # each test starts from an outbox with nothing left to publish (other tests' rows are done or parked)
    with db.session(write=True) as s:
        s.execute(update(OUTBOX).where(OUTBOX.c.published_at.is_(None)).values(published_at=OUTBOX.c.created_at))
    return f"crm.test.{uuid.uuid4().hex[:8]}.v1"


def _write(db, topic: str, key: str, email: str = "x@y.uz") -> str:
    """One event of aggregate `key` (its order: the e-mail's number); return its event id."""
    with db.session(write=True) as s:
        return add_event(s, OUTBOX, topic=topic, aggregate_type="user", aggregate_id=key,
                         message=ev.UserCreated(user_id=key, email=email), company_id="c", actor_id="t")


def _row(db, event_id: str):
    with db.session() as s:
        return s.execute(select(OUTBOX).where(OUTBOX.c.event_id == event_id)).one()


def _published(db, event_id: str) -> bool:
    return _row(db, event_id).published_at is not None


def read_topic(bootstrap: str, topic: str, expect: int, timeout: float = 30) -> dict[str, list[str]]:
    """Every record of `topic` from the start: event ids per message key, in log order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        assert wait_for(lambda: consumer.partitions_for_topic(topic), timeout=timeout)
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        by_key: dict[str, list[str]] = {}
        seen, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    by_key.setdefault(r.key.decode(), []).append(dict(r.headers)["event_id"].decode())
                    seen += 1
            if seen >= expect and sum(consumer.position(tp) >= end for tp, end in
                                      consumer.end_offsets(tps).items()) == len(tps):
                break
        return by_key
    finally:
        consumer.close()


def test_a_failing_row_holds_back_its_keys_later_rows_but_not_other_keys(db, broker, topic):
    relay = OutboxRelay(db, OUTBOX, broker.bootstrap, [topic], retry_backoff=0.2, max_attempts=50)
    try:
        a, b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
        a1 = _write(db, topic, a, TOO_LARGE)
        b1 = _write(db, topic, b, "1")
        a2 = _write(db, topic, a, "2")
        b2 = _write(db, topic, b, "2")
        a3 = _write(db, topic, a, "3")
        assert relay.publish_once() == 2  # b1, b2; a1 failed, so a2 and a3 were not even sent
        assert _published(db, b1) and _published(db, b2)
        assert not any(_published(db, e) for e in (a1, a2, a3))
        row = _row(db, a1)
        assert row.attempts == 1 and "MessageSizeTooLarge" in row.last_error and row.parked_at is None
        b3 = _write(db, topic, b, "3")
        time.sleep(0.3)  # a1 is due again: it fails again, while b goes on and a2, a3 wait
        assert relay.publish_once() == 1 and _published(db, b3)
        assert _row(db, a1).attempts == 2 and not _published(db, a2)
        # the cause is removed (as an operator would); a1 goes out on its next attempt, then a2 and a3
        with db.session(write=True) as s:
            s.execute(update(OUTBOX).where(OUTBOX.c.event_id == a1).values(
                payload=ev.UserCreated(user_id=a, email="1").SerializeToString()))
        assert wait_for(lambda: relay.publish_once() >= 0 and _published(db, a1), timeout=10)
        assert not _published(db, a2)  # a1 went out alone: its key's later rows follow it, not with it
        assert relay.publish_once() == 2 and _published(db, a2) and _published(db, a3)
        log = read_topic(broker.bootstrap, topic, expect=6)
        assert log[a] == [a1, a2, a3] and log[b] == [b1, b2, b3]
    finally:
        relay._reset_producer()


def test_an_unpublishable_row_is_parked_after_n_attempts_and_its_key_goes_on(db, broker, topic):
    relay = OutboxRelay(db, OUTBOX, broker.bootstrap, [topic], retry_backoff=0.05, max_attempts=3)
    parked_before = REGISTRY.get_sample_value("crm_outbox_parked_total", {"topic": topic}) or 0
    key, other = f"k-{uuid.uuid4().hex[:8]}", f"o-{uuid.uuid4().hex[:8]}"
    big = _write(db, topic, key, TOO_LARGE)
    later = [_write(db, topic, key, str(i)) for i in range(2, 5)]
    others = [_write(db, topic, other, str(i)) for i in range(3)]
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: all(_published(db, e) for e in later + others), timeout=30)
        row = _row(db, big)
        assert row.parked_at is not None and row.published_at is None
        assert row.attempts == 3 and "MessageSizeTooLarge" in row.last_error
        assert REGISTRY.get_sample_value("crm_outbox_parked_total", {"topic": topic}) == parked_before + 1
        time.sleep(0.5)  # the relay does not try a parked row again
        assert _row(db, big).attempts == 3
        log = read_topic(broker.bootstrap, topic, expect=6)
        assert log[key] == later and log[other] == others
    finally:
        relay.stop_event.set()
        thread.join(15)


def test_one_relay_publishes_and_a_standby_takes_over_when_the_holders_lease_ends(db, broker, topic):
    """Two relays of one database: the lease holder publishes, the other stands by (it has not even made a
    producer). When the holder's lease ends (PostgreSQL: its lease connection terminated by the server,
    as when its process dies; SQLite: the holder stops and closes its lease file), the standby takes
    over within seconds and publishes the next events."""
    relays = [OutboxRelay(db, OUTBOX, broker.bootstrap, [topic], lease_retry=0.5) for _ in range(2)]
    threads = [threading.Thread(target=r.run, daemon=True) for r in relays]
    threads[0].start()
    try:
        assert wait_for(lambda: relays[0].lease.holding, timeout=10)
        threads[1].start()
        assert wait_for(lambda: relays[1].ready.is_set(), timeout=10)
        key = f"k-{uuid.uuid4().hex[:8]}"
        first = [_write(db, topic, key, str(i)) for i in range(20)]
        assert wait_for(lambda: all(_published(db, e) for e in first), timeout=30)
        assert relays[0].lease.holding and not relays[1].lease.holding
        assert relays[1]._producer is None  # the standby never published
        ended = time.monotonic()
        if db.is_sqlite:
            relays[0].stop_event.set()
            threads[0].join(15)
        else:
            import psycopg

            with psycopg.connect(db.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (relays[0].lease.backend_pid,))
        assert wait_for(lambda: relays[1].lease.holding, timeout=10)
        took = time.monotonic() - ended
        assert took < 3, took
        second = [_write(db, topic, key, str(i)) for i in range(20, 40)]
        assert wait_for(lambda: all(_published(db, e) for e in second), timeout=30)
        assert relays[1]._producer is not None
        assert wait_for(lambda: not relays[0].lease.holding, timeout=5)  # the old holder noticed its loss
        log = read_topic(broker.bootstrap, topic, expect=40)
        assert [e for i, e in enumerate(log[key]) if e not in log[key][:i]] == first + second
    finally:
        for r in relays:
            r.stop_event.set()
        for t in threads:
            if t.is_alive():
                t.join(15)


def test_a_second_relay_waits_for_the_rows_the_first_is_publishing(db, broker, topic):
    """PostgreSQL: should two relays work at once (a direct `publish_once` beside the lease holder, or a
    holder that lost its lease finishing its batch), the second waits for the rows the first has
    taken instead of skipping them: batches go out one after another, each key in order, no row twice."""
    if db.is_sqlite:
        pytest.skip("SQLite: one relay holds the file lease; rows have no locks to wait for")
    relays = [OutboxRelay(db, OUTBOX, broker.bootstrap, [topic], batch=7) for _ in range(2)]
    for relay in relays:
        relay.publish_once()  # producers made
    keys = [f"k{i}-{uuid.uuid4().hex[:6]}" for i in range(5)]
    ids = [_write(db, topic, keys[i % 5], str(i)) for i in range(30)]
    holding, go_on = threading.Event(), threading.Event()
    produce = relays[0]._produce

    def held(rows):  # the first relay stops between taking its rows and producing them
        holding.set()
        go_on.wait(30)
        return produce(rows)

    relays[0]._produce = held
    first = threading.Thread(target=relays[0].publish_once)
    first.start()
    second_result: list[int] = []
    second = threading.Thread(target=lambda: second_result.append(relays[1].publish_once()))
    try:
        assert holding.wait(30)
        second.start()
        time.sleep(1)
        assert second.is_alive() and not any(_published(db, e) for e in ids)  # it waits on the first's rows
    finally:
        go_on.set()
        first.join(30)
        second.join(30)
    relays[0]._produce = produce
    assert second_result == [7]  # the next seven, after the first's seven were published and marked
    while relays[0].publish_once() + relays[1].publish_once():
        pass
    assert all(_published(db, e) for e in ids)
    log = read_topic(broker.bootstrap, topic, expect=30)
    for k in keys:
        assert log[k] == [e for i, e in enumerate(ids) if i % 5 == keys.index(k)]
    for relay in relays:
        relay._reset_producer()
