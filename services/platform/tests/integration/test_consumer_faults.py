"""The idempotent consumer under real faults: its database locked (SQLite) or refusing connections
(PostgreSQL) for a while, against the real broker. After the outage every event is applied exactly
once, in order per key, and nothing is dead-lettered; the group membership outlives a wait longer than
max_poll_interval_ms. Also: the errors real components raise are classified as they must be."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
import uuid

import grpc
from kafka import KafkaProducer
from prometheus_client import REGISTRY
import pytest
from sqlalchemy import Integer, MetaData, String, create_engine, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.db import Database
from crm_platform.faults import is_transient
from crm_platform.messaging import IdempotentConsumer, Subscription, wait_for
from crm_platform.tables import add_platform_tables
from tests.support.infra import PG_ADMIN_URL, free_port, postgres_available


PG = postgres_available()
EVENT_TYPE = [("event_type", ev.UserCreated.DESCRIPTOR.full_name.encode())]


class Base(DeclarativeBase):
    metadata = MetaData()


TABLES = add_platform_tables(Base.metadata)


class Applied(Base):
    """One row per event the handler applied, in the order it applied them (id)."""

    __tablename__ = "applied"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(36))


def _handler(session, message) -> None:
    key, seq = message.user_id.rsplit(":", 1)
    session.add(Applied(key=key, seq=int(seq), event_id=message.metadata.event_id))


def _send(producer, topic, company, key, seq) -> None:
    msg = ev.UserCreated(user_id=f"{key}:{seq}")
    msg.metadata.event_id = str(uuid.uuid4())
    msg.metadata.company_id = company
    producer.send(topic, key=key.encode(), value=msg.SerializeToString(), headers=EVENT_TYPE)


def _applied(db) -> dict[str, list[int]]:
    with db.session() as s:
        rows = s.execute(select(Applied.key, Applied.seq).order_by(Applied.id)).all()
    out: dict[str, list[int]] = {}
    for key, seq in rows:
        out.setdefault(key, []).append(seq)
    return out


def _dead_letters(db) -> int:
    with db.session() as s:
        return s.execute(select(func.count()).select_from(TABLES["dead_letters"])).scalar_one()


def _waits(name: str) -> float:
    return REGISTRY.get_sample_value("crm_events_consumed_total", {"consumer": name, "outcome": "waiting"}) or 0.0


@contextlib.contextmanager
def _running(db, broker):
    topic = f"crm.test.{uuid.uuid4().hex[:8]}.v1"
    consumer = IdempotentConsumer(db, TABLES["processed_events"], broker.bootstrap, f"test-{uuid.uuid4().hex[:6]}",
                                  [Subscription(ev.UserCreated, _handler, topic=topic)], backoff=0.05)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        assert consumer.ready.wait(90), "the consumer got no partitions"
        yield consumer, topic, producer
    finally:
        producer.close()
        consumer.stop_event.set()
        thread.join(20)


def _outage_survived(db, broker, outage, seconds: float, caplog, readable: bool = False) -> None:
    """Events before, during and after `outage` (a context manager, held `seconds`): each applied once,
    in order per key, none dead-lettered, the membership kept."""
    keys = [f"k{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    company = str(uuid.uuid4())
    with caplog.at_level(logging.WARNING, logger="kafka"), _running(db, broker) as (consumer, topic, producer):
        for key in keys:
            _send(producer, topic, company, key, 1)
        producer.flush()
        assert wait_for(lambda: all(_applied(db).get(k) == [1] for k in keys), timeout=60)
        started = time.monotonic()
        with outage():
            for seq in range(2, 7):
                for key in keys:
                    _send(producer, topic, company, key, seq)
            producer.flush()
            assert wait_for(lambda: _waits(consumer.name) >= 1, timeout=seconds), "no transient failure seen"
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            if readable:  # SQLite readers are not blocked: nothing of the second wave got through
                assert {k: _applied(db)[k] for k in keys} == {k: [1] for k in keys}
                assert _dead_letters(db) == 0
        assert wait_for(lambda: all(len(_applied(db).get(k, [])) >= 6 for k in keys), timeout=120)
        for key in keys:
            _send(producer, topic, company, key, 7)  # and the consumer goes on after the outage
        producer.flush()
        assert wait_for(lambda: all(len(_applied(db).get(k, [])) >= 7 for k in keys), timeout=60)
        time.sleep(1.5)  # nothing applied twice afterwards
        applied = _applied(db)
        assert {k: applied[k] for k in keys} == {k: [1, 2, 3, 4, 5, 6, 7] for k in keys}
        assert _dead_letters(db) == 0
        with db.session() as s:
            p = TABLES["processed_events"]
            assert s.execute(select(func.count()).where(p.c.consumer == consumer.name)).scalar_one() == 28
    assert not [r for r in caplog.records if "poll timeout has expired" in r.getMessage()]


def test_a_locked_sqlite_database_is_waited_out_and_every_event_applied_once_in_order(tmp_path, broker, caplog):
    path = tmp_path / "locked.db"
    db = Database(f"sqlite:///{path}")
    Base.metadata.create_all(db.write_engine)

    @contextlib.contextmanager
    def locked():
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # in WAL mode: every writer waits (and times out after 10 s)
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    try:
        _outage_survived(db, broker, locked, 15, caplog, readable=True)
    finally:
        db.dispose()


@pytest.mark.skipif(not PG, reason="PostgreSQL does not answer on 127.0.0.1:5432")
def test_a_postgresql_database_refusing_connections_is_waited_out_past_the_poll_interval(broker, caplog):
    """The consumer's role loses CONNECT and its sessions are terminated for 35 s (longer than the
    30 s max_poll_interval_ms: the poll thread must keep the membership while the event waits)."""
    import psycopg

    name = f"crm_test_{uuid.uuid4().hex[:10]}"
    admin_url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(admin_url.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as admin:
        admin.execute(f'GRANT ALL ON SCHEMA public TO "{name}"')
    db = Database(f"postgresql+psycopg://{name}@127.0.0.1:5432/{name}")
    Base.metadata.create_all(db.write_engine)

    @contextlib.contextmanager
    def refusing():
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))
        try:
            yield
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'GRANT CONNECT ON DATABASE "{name}" TO PUBLIC')

    try:
        _outage_survived(db, broker, refusing, 35, caplog)
    finally:
        db.dispose()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


# ---- the errors real components raise -----------------------------------------------------------

def test_a_locked_sqlite_database_raises_a_transient_error(tmp_path):
    path = tmp_path / "lock.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    try:
        with pytest.raises(Exception) as caught, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert "locked" in str(caught.value) and is_transient(caught.value)
        holder.execute("ROLLBACK")
        with pytest.raises(Exception) as missing, engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
        assert not is_transient(missing.value)  # a mistake of ours, not of the moment
    finally:
        holder.close()
        engine.dispose()


def test_a_postgresql_port_that_refuses_raises_a_transient_error():
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x",
                           connect_args={"connect_timeout": 2})
    try:
        with pytest.raises(Exception) as caught, engine.connect():
            pass
        assert is_transient(caught.value)
    finally:
        engine.dispose()


def test_grpc_statuses_from_a_real_server_and_channel_are_classified():
    codes = {"Unavailable": grpc.StatusCode.UNAVAILABLE, "Exhausted": grpc.StatusCode.RESOURCE_EXHAUSTED,
             "Missing": grpc.StatusCode.NOT_FOUND, "Invalid": grpc.StatusCode.INVALID_ARGUMENT}

    def behaviour(method):
        def handle(request, context):
            if method == "Slow":
                time.sleep(1)
                return b""
            context.abort(codes[method], method)
        return grpc.unary_unary_rpc_method_handler(handle)

    class Handler(grpc.GenericRpcHandler):
        def service(self, details):
            return behaviour(details.method.rsplit("/", 1)[-1])

    from concurrent.futures import ThreadPoolExecutor

    server = grpc.server(ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers((Handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    closed = grpc.insecure_channel(f"127.0.0.1:{free_port()}")

    def status_of(ch, method, timeout=5.0):
        with pytest.raises(grpc.RpcError) as caught:
            ch.unary_unary(f"/test.Svc/{method}")(b"", timeout=timeout)
        return caught.value

    try:
        verdicts = {m: is_transient(status_of(channel, m)) for m in codes}
        verdicts["Slow"] = is_transient(status_of(channel, "Slow", timeout=0.2))  # DEADLINE_EXCEEDED
        verdicts["closed port"] = is_transient(status_of(closed, "Any", timeout=2))  # UNAVAILABLE
        assert verdicts == {"Unavailable": True, "Exhausted": True, "Missing": False, "Invalid": False,
                            "Slow": True, "closed port": True}
    finally:
        channel.close()
        closed.close()
        server.stop(0)
