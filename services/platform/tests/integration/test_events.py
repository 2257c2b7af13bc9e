"""Outbox relay and idempotent consumer against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from kafka import KafkaProducer
from sqlalchemy import Integer, MetaData, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.db import Database
from crm_platform.messaging import IdempotentConsumer, Subscription, wait_for
from crm_platform.outbox import OutboxRelay, add_event
from crm_platform.tables import add_platform_tables
from tests.support.events import collect


class Base(DeclarativeBase):
    metadata = MetaData()


TABLES = add_platform_tables(Base.metadata)


class Effect(Base):
    """What the test consumer does per event: count it."""

    __tablename__ = "effects"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


@pytest.fixture(scope="module")
def db(database_url):
    d = Database(database_url)
    Base.metadata.create_all(d.write_engine)
    yield d
    Base.metadata.drop_all(d.write_engine)
    d.dispose()


def _topic() -> str:
    return f"crm.test.{uuid.uuid4().hex[:8]}.v1"


def _write_event(db, topic, user_id, company_id):
    with db.session(write=True) as s:
        add_event(s, TABLES["outbox"], topic=topic, aggregate_type="user", aggregate_id=user_id,
                  message=ev.UserCreated(user_id=user_id, email="x@y.uz"), company_id=company_id, actor_id="t")


def test_relay_publishes_rows_once_acknowledged(db, broker):
    topic = _topic()
    relay = OutboxRelay(db, TABLES["outbox"], broker.bootstrap, [topic])
    uid, cid = str(uuid.uuid4()), str(uuid.uuid4())
    _write_event(db, topic, uid, cid)
    assert relay.publish_once() >= 1
    _, msg = collect(broker.bootstrap, topic, ev.UserCreated, lambda m: m.user_id == uid)[0]
    assert msg.metadata.company_id == cid and msg.metadata.event_id
    with db.session() as s:
        o = TABLES["outbox"]
        row = s.execute(select(o.c.published_at).where(o.c.aggregate_id == uid)).one()
        assert row.published_at is not None


def test_relay_keeps_rows_while_broker_is_down(db):
    from tests.support.infra import Broker

    b = Broker()  # not started: nothing listens on its port
    topic = _topic()
    relay = OutboxRelay(db, TABLES["outbox"], b.bootstrap, [topic])
    uid = str(uuid.uuid4())
    _write_event(db, topic, uid, str(uuid.uuid4()))
    with pytest.raises(Exception):
        relay.publish_once()
    o = TABLES["outbox"]
    with db.session() as s:
        assert s.execute(select(o.c.published_at).where(o.c.aggregate_id == uid)).scalar_one() is None
    b.start()
    try:
        relay._reset_producer()
        assert wait_for(lambda: _publish_quietly(relay) and _published(db, uid), timeout=30)
        assert collect(b.bootstrap, topic, ev.UserCreated, lambda m: m.user_id == uid)
    finally:
        b.stop()


# Two relays at once: tests/integration/test_relay.py (one active relay per database, a lease; the
# rows a relay works on make a second one wait, so batches go out one after another).


def test_a_relay_drops_a_connection_the_server_closed_and_goes_on(db, broker):
    """PostgreSQL: a pooled connection the server terminated fails one cycle (the rows stay unpublished);
    the next cycle takes a new connection and publishes them."""
    if db.is_sqlite:
        pytest.skip("no server to drop the connection")
    import psycopg

    own = Database(db.url, pool_size=1)  # the relay's pool: one connection, the one terminated below
    topic = _topic()
    relay = OutboxRelay(own, TABLES["outbox"], broker.bootstrap, [topic])
    try:
        relay.publish_once()  # the producer exists; the pool's one connection is idle in it
        conn = own.write_engine.raw_connection()
        pid = conn.driver_connection.info.backend_pid
        conn.close()
        with psycopg.connect(db.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        uid = str(uuid.uuid4())
        _write_event(db, topic, uid, str(uuid.uuid4()))
        with pytest.raises(psycopg.OperationalError):
            relay.publish_once()
        assert not _published(db, uid)
        assert relay.publish_once() >= 1
        assert _published(db, uid)
    finally:
        relay._reset_producer()
        own.dispose()


def _publish_quietly(relay) -> bool:
    try:
        relay.publish_once()
    except Exception:  # noqa: BLE001 - the broker may still be starting
        relay._reset_producer()
    return True


def _published(db, uid) -> bool:
    o = TABLES["outbox"]
    with db.session() as s:
        return s.execute(select(o.c.published_at).where(o.c.aggregate_id == uid)).scalar_one() is not None


def _count(db, uid) -> int:
    with db.session() as s:
        return s.execute(select(Effect.count).where(Effect.user_id == uid)).scalar_one_or_none() or 0


def _handler(session, message) -> None:
    row = session.get(Effect, message.user_id)
    if row is None:
        session.add(Effect(user_id=message.user_id, count=1))
    else:
        row.count += 1


def test_consumer_applies_a_redelivered_event_once_and_dead_letters_poison(db, broker):
    topic = _topic()
    dead = []
    consumer = IdempotentConsumer(db, TABLES["processed_events"], broker.bootstrap, f"test-{uuid.uuid4().hex[:6]}",
                                  [Subscription(ev.UserCreated, _handler, topic=topic)], max_attempts=2, backoff=0.01,
                                  on_dead_letter=lambda m, e: dead.append(e))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        uid = str(uuid.uuid4())
        msg = ev.UserCreated(user_id=uid)
        msg.metadata.event_id = str(uuid.uuid4())
        msg.metadata.company_id = str(uuid.uuid4())
        headers = [("event_type", b"crm.identity.events.v1.UserCreated")]
        for _ in range(2):  # the same event delivered twice
            producer.send(topic, key=uid.encode(), value=msg.SerializeToString(), headers=headers).get(10)
        # one key: one partition, so the consumer sees them in this order
        producer.send(topic, key=uid.encode(), value=b"\xff\xfe not protobuf", headers=headers).get(10)
        after = ev.UserCreated(user_id=str(uuid.uuid4()))
        after.metadata.event_id = str(uuid.uuid4())
        after.metadata.company_id = msg.metadata.company_id
        producer.send(topic, key=uid.encode(), value=after.SerializeToString(), headers=headers).get(10)
        producer.flush()
        # the consumer keeps going past the poison message
        assert wait_for(lambda: _count(db, after.user_id) == 1, timeout=90)
        assert _count(db, uid) == 1
        assert _dead_letter_seen(broker.bootstrap, f"{topic}.dlq")
        d = TABLES["dead_letters"]  # the record that counts: the service's own table, with the reason
        with db.session() as s:
            [parked] = s.execute(select(d).where(d.c.consumer == consumer.name)).all()
        assert parked.topic == topic and parked.value == b"\xff\xfe not protobuf" and parked.key == uid.encode()
        assert "PoisonMessage: cannot decode" in parked.reason and parked.event_id is None
        assert parked.event_type == "crm.identity.events.v1.UserCreated" and parked.redriven_at is None
        assert dead == []  # the hook is told of decoded events only
    finally:
        consumer.stop_event.set()
        thread.join(10)


def _dead_letter_seen(bootstrap: str, topic: str) -> bool:
    from kafka import KafkaConsumer

    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"dlq-{uuid.uuid4().hex[:6]}",
                      auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        for _ in range(40):
            for records in c.poll(timeout_ms=500).values():
                for r in records:
                    headers = dict(r.headers or ())
                    if b"cannot decode" in headers.get("error", b""):
                        return True
        return False
    finally:
        c.close()


def _event(user_id: str, company_id: str) -> ev.UserCreated:
    msg = ev.UserCreated(user_id=user_id)
    msg.metadata.event_id = str(uuid.uuid4())
    msg.metadata.company_id = company_id
    return msg


@pytest.mark.parametrize("together_fails", [False, True], ids=["together", "together-fails"])
def test_consumer_applies_a_poll_together_and_the_rest_one_by_one(db, broker, together_fails):
    """A batch handler gets a poll's events of one company in one transaction; the events it leaves,
    and all of them when its transaction fails, are applied one by one: each exactly once."""
    topic = _topic()
    calls: list[list[str]] = []

    def together(session, messages) -> set[str]:
        calls.append([m.user_id for m in messages])
        left = set()
        for m in messages:
            if m.user_id.startswith("left-"):
                left.add(m.metadata.event_id)
            else:
                _handler(session, m)
        if together_fails:
            raise RuntimeError("the batch failed after applying its events")
        return left

    company = str(uuid.uuid4())
    events = [_event(f"{prefix}{uuid.uuid4().hex[:24]}", company) for prefix in ("", "", "left-", "")]
    duplicate = events[0]
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    headers = [("event_type", b"crm.identity.events.v1.UserCreated")]
    # one key, one partition, all sent before the consumer starts: its first poll holds them all
    for msg in [*events, duplicate]:
        producer.send(topic, key=b"k", value=msg.SerializeToString(), headers=headers).get(10)
    producer.flush()
    consumer = IdempotentConsumer(db, TABLES["processed_events"], broker.bootstrap, f"test-{uuid.uuid4().hex[:6]}",
                                  [Subscription(ev.UserCreated, _handler, together, topic=topic)], max_attempts=2,
                                  backoff=0.01)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: all(_count(db, m.user_id) == 1 for m in events), timeout=90)
        time.sleep(1)  # nothing is applied a second time afterwards
        assert [_count(db, m.user_id) for m in events] == [1, 1, 1, 1]
        assert len(calls[0]) == 4  # the four events (not the duplicate) went to the batch handler at once
        with db.session() as s:
            p = TABLES["processed_events"]
            assert s.execute(select(func.count()).where(p.c.consumer == consumer.name)).scalar_one() == 4
    finally:
        consumer.stop_event.set()
        thread.join(10)


def test_a_commit_that_wrote_outbox_rows_notifies_listening_relays_and_a_rollback_does_not(db):
    """On PostgreSQL a relay in any process learns of new rows from the writer's NOTIFY, sent when the
    writing transaction commits and never for one rolled back (SQLite: the in-process event only)."""
    if db.is_sqlite:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    from crm_platform.outbox import OUTBOX_CHANNEL
    from crm_platform.wakeup import Listener

    listener = Listener(db.url, threading.Event(), OUTBOX_CHANNEL)
    try:
        assert listener.wait(0.2) is False  # connects and listens; nothing written yet
        with pytest.raises(RuntimeError), db.session(write=True) as s:
            add_event(s, TABLES["outbox"], topic=_topic(), aggregate_type="user", aggregate_id="u1",
                      message=ev.UserCreated(user_id="u1", email="x@y.uz"), company_id="c", actor_id="t")
            raise RuntimeError("the change fails after writing its event")
        assert listener.wait(0.5) is False
        for _ in range(3):  # three commits while the relay is busy: one wake-up, one poll reads all rows
            _write_event(db, _topic(), str(uuid.uuid4()), "c")
        time.sleep(0.5)  # all three notifications delivered to the listening connection
        assert listener.wait(10) is True
        assert listener.wait(0.2) is False
    finally:
        listener.close()
