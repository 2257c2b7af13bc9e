"""A deterministic failure is parked in the service's `dead_letters` table with its reason, and the
service's `dlq` command (a real `python -m crm_pipeline dlq ...` process) lists it and, once the cause
is fixed, redrives it through the same idempotent consumer: applied once, marked redriven; a redrive
that fails again leaves it parked with the new reason; a second redrive of the same event is skipped
as a duplicate by `processed_events`.

Pipeline's consumer stands for every service's (the command and the consumer are crm_platform's); the
rule the event breaks is a trigger of the real database refusing one company's setup row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid

from kafka import KafkaProducer
from sqlalchemy import func, select, text

from crm.identity.events.v1 import identity_events_pb2 as iev
from crm_pipeline.__main__ import MIGRATIONS
from crm_pipeline.adapters.orm import PLATFORM, CompanySetup, Funnel
from crm_pipeline.entrypoints.consumer import CONSUMER_NAME, make_consumer
from crm_pipeline.service_layer.services import PipelineService
from crm_platform.db import Database
from crm_platform.dlq import decode_headers
from crm_platform.messaging import wait_for
from crm_platform.topics import topic_of
from tests.support.infra import ROOT, Broker, free_port


DEAD = PLATFORM["dead_letters"]


def _refuse(db, company_id: str, why: str) -> None:
    with db.write_engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_setup")
        conn.exec_driver_sql(f"CREATE TRIGGER refuse_setup BEFORE INSERT ON company_setups "
                             f"WHEN NEW.company_id = '{company_id}' BEGIN SELECT RAISE(ABORT, '{why}'); END")


def _company_created(producer, company_id: str) -> str:
    msg = iev.CompanyCreated(name="Acme", crm_id="ACME", time_zone="Asia/Tashkent")
    msg.metadata.event_id = str(uuid.uuid4())
    msg.metadata.company_id = company_id
    producer.send(topic_of(iev.CompanyCreated), key=company_id.encode(), value=msg.SerializeToString(),
                  headers=[("event_type", iev.CompanyCreated.DESCRIPTOR.full_name.encode())]).get(10)
    return msg.metadata.event_id


def _seeded(db, company_id: str) -> tuple[bool, int]:
    with db.session() as s:
        setup = s.get(CompanySetup, company_id) is not None
        funnels = s.execute(select(func.count()).select_from(Funnel).where(Funnel.company_id == company_id)).scalar_one()
    return setup, funnels


def _rows(db) -> list:
    with db.session() as s:
        return list(s.execute(select(DEAD).order_by(DEAD.c.id)))


def test_a_deterministic_failure_is_parked_with_its_reason_and_the_dlq_command_redrives_it_once(
        tmp_path, keys):
    url = f"sqlite:///{tmp_path / 'pipeline.db'}"
    db = Database(url)
    db.migrate(MIGRATIONS)
    broker = Broker().start()  # its own: no other member of pipeline's group takes the partition
    refused, other = str(uuid.uuid4()), str(uuid.uuid4())
    _refuse(db, refused, "company setups are frozen")
    consumer = make_consumer(db, broker.bootstrap, PipelineService(db))
    consumer.backoff = 0.05
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    env = {**os.environ, "PIPELINE_DATABASE_URL": url, "PIPELINE_GRPC_BIND": f"127.0.0.1:{free_port()}",
           "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "AUTH_PUBLIC_KEY": keys["access_public"], "LOG_LEVEL": "WARNING"}

    def dlq(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "crm_pipeline", "dlq", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    try:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        event_id = _company_created(producer, refused)
        _company_created(producer, other)
        # the refused event is parked; the consumer went on with the next one
        assert wait_for(lambda: len(_rows(db)) == 1 and _seeded(db, other) == (True, 2), timeout=120)
        consumer.stop_event.set()
        thread.join(20)
        row = _rows(db)[0]
        assert (row.consumer, row.topic, row.event_id, row.company_id, row.event_type) == (
            CONSUMER_NAME, topic_of(iev.CompanyCreated), event_id, refused, iev.CompanyCreated.DESCRIPTOR.full_name)
        assert "IntegrityError" in row.reason and "company setups are frozen" in row.reason
        assert row.redriven_at is None and _seeded(db, refused) == (False, 0)

        listed = dlq("list", "--json")
        assert listed.returncode == 0, listed.stderr
        [shown] = [json.loads(line) for line in listed.stdout.splitlines()]
        assert shown["id"] == row.id and shown["company_id"] == refused and "frozen" in shown["reason"]
        assert shown["event_type"] == "crm.identity.events.v1.CompanyCreated" and shown["created_at"].endswith("Z")

        _refuse(db, refused, "still frozen")  # not fixed yet: the redrive fails, the row stays parked
        again = dlq("redrive", "--id", str(row.id))
        assert again.returncode == 1 and f"{row.id}\tfailed" in again.stdout, again.stdout + again.stderr
        assert "still frozen" in _rows(db)[0].reason and _rows(db)[0].redriven_at is None

        with db.write_engine.begin() as conn:  # the cause fixed
            conn.exec_driver_sql("DROP TRIGGER refuse_setup")
        done = dlq("redrive", "--id", str(row.id))
        assert done.returncode == 0 and f"{row.id}\tapplied" in done.stdout, done.stdout + done.stderr
        assert _seeded(db, refused) == (True, 2)
        assert _rows(db)[0].redriven_at is not None
        pending = dlq("list")
        assert pending.returncode == 0 and "0 dead letter(s) pending" in pending.stdout
        everything = [json.loads(line) for line in dlq("list", "--all", "--json").stdout.splitlines()]
        assert [r["id"] for r in everything] == [row.id] and everything[0]["redriven_at"].endswith("Z")

        with db.write_engine.begin() as conn:  # parked again by mistake: a redrive finds it applied
            conn.execute(text("UPDATE dead_letters SET redriven_at = NULL"))
        dup = dlq("redrive", "--all")
        assert dup.returncode == 0 and f"{row.id}\tduplicate" in dup.stdout, dup.stdout + dup.stderr
        assert _seeded(db, refused) == (True, 2)  # not seeded twice

        usage = dlq("redrive")  # --id or --all is required
        assert usage.returncode == 2 and "--id" in usage.stderr
    finally:
        consumer.stop_event.set()
        thread.join(20)
        broker.stop()
        db.dispose()


def test_one_row_per_event_and_a_position_the_broker_numbered_anew_keeps_both(database_url):
    """Parked again (a redelivery), an event keeps its row, pending again with the new reason. After a
    broker restart (Tansu keeps no log) another event can come at a pending row's position: that row
    keeps its event and reason, its offset marked as from the earlier log (negative)."""
    from crm_platform.dlq import DeadLetters, Parked
    from crm_platform.tables import add_platform_tables, service_metadata

    metadata = service_metadata()
    table = add_platform_tables(metadata)["dead_letters"]
    db = Database(database_url)
    metadata.create_all(db.write_engine, tables=[table])
    letters = DeadLetters(db, table)
    consumer = f"test-{uuid.uuid4().hex[:6]}"

    def message(company: str):
        msg = iev.CompanyCreated(name="Acme")
        msg.metadata.event_id, msg.metadata.company_id = str(uuid.uuid4()), company
        return msg

    def at(offset: int, msg=None, value: bytes | None = None) -> Parked:
        return Parked("crm.test.v1", 2, offset, b"k", value if value is not None else msg.SerializeToString(),
                      [("event_type", b"crm.identity.events.v1.CompanyCreated"), ("raw", b"\xff\x00")])

    try:
        first = message("c1")
        one = letters.record(consumer, at(7, first), "refused", first)
        assert letters.record(consumer, at(7, first), "refused again", first) == one  # redelivered
        poison = letters.record(consumer, at(8, value=b"\xff"), "cannot decode")
        assert letters.record(consumer, at(8, value=b"\xff"), "cannot decode") == poison
        rows = {r.id: r for r in letters.rows()}
        assert len(rows) == 2 and rows[one].reason == "refused again" and rows[poison].event_id is None
        assert dict(decode_headers(rows[one].headers))["raw"] == b"\xff\x00"  # bytes survive as base64

        letters.redriven(poison)
        reused = letters.record(consumer, at(8, message("c2")), "refused", message("c2"))
        assert reused == poison and letters.rows(ids=[poison])[0].redriven_at is None  # a finished row reused

        newer = message("c3")  # the broker restarted empty: offset 7 is another event now
        three = letters.record(consumer, at(7, newer), "refused", newer)
        rows = {r.id: r for r in letters.rows()}
        assert three not in (one, poison) and rows[three].offset == 7 and rows[three].event_id == newer.metadata.event_id
        assert rows[one].offset == -one and rows[one].event_id == first.metadata.event_id  # kept whole
        assert [r.id for r in letters.rows(include_redriven=True)] == sorted(rows)
    finally:
        table.drop(db.write_engine)
        db.dispose()
