"""Reading back what the system did, for the history checker: tasks, deals' stages, seats, mails, dead
letters (every service's `dead_letters` table) and the `.dlq` topics."""

from __future__ import annotations

import collections
import pathlib

import requests

from tests.faults.history import read_topic
from tests.support.crm import count_tasks
from tests.support.infra import read_mails

SERVICES = ("identity", "pipeline", "records", "automation", "billing")


def database_url(system, service: str) -> str:
    return system.env[f"{service.upper()}_DATABASE_URL"]


def query(url: str, sql: str, params: dict | None = None) -> list:
    """Rows of one statement on a service's database (SQLite file or PostgreSQL), read-only."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params or {}).all())
    finally:
        engine.dispose()


def dead_letters(system) -> dict[str, list]:
    """Every service's `dead_letters` rows: service -> [(consumer, topic, event_type, reason)]."""
    found = {}
    for svc in SERVICES:
        rows = query(database_url(system, svc), "SELECT consumer, topic, event_type, reason FROM dead_letters")
        if rows:
            found[svc] = [tuple(r) for r in rows]
    return found


def dlq_records(system) -> dict[str, int]:
    """How many records each `.dlq` topic holds (topics with none are left out)."""
    from kafka import KafkaConsumer

    bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        topics = [t for t in consumer.topics() if t.endswith(".dlq")]
    finally:
        consumer.close()
    counts = {}
    if topics:
        for key, events in read_topic(bootstrap, topics).items():
            for e in events:
                counts[e.event_type or key] = counts.get(e.event_type or key, 0) + 1
    return counts


def assert_nothing_dead_lettered(system) -> None:
    letters = dead_letters(system)
    assert letters == {}, f"dead letters: {letters}"
    dlq = dlq_records(system)
    assert dlq == {}, f"records on .dlq topics: {dlq}"
    print("HISTORY dead letters: 0 rows in every service's dead_letters, 0 records on .dlq topics", flush=True)


def tasks_per_deal(admin, deal_ids) -> dict[str, list]:
    """Observed tasks as the checker compares them: deal -> ["task"] * how many."""
    return {d: ["task"] * n for d, n in count_tasks(admin, set(deal_ids)).items()}


def expected_tasks(moves: dict[str, list]) -> dict[str, list]:
    """One task per stage change (a process on `deal.stage_changed`)."""
    return {d: ["task"] * len(m) for d, m in moves.items() if m}


def mails_by_recipient(system) -> dict[str, list]:
    """Delivered mails: recipient -> [subject, ...]."""
    out: dict[str, list] = collections.defaultdict(list)
    for m in read_mails(pathlib.Path(system.env["MAIL_DIR"])):
        out[str(m["To"]).lower()].append(str(m["Subject"]))
    return dict(out)


def metrics(system, service: str) -> str:
    return requests.get(f"http://127.0.0.1:{system.env[f'{service.upper()}_HEALTH_PORT']}/metrics", timeout=5).text
