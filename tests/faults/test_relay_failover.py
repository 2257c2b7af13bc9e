"""Two relay processes of one service on PostgreSQL under event load; the active one killed -9 mid-batch.

The relays are real `python -m crm_pipeline relay` processes on a PostgreSQL database of the test's
own and a broker of its own; the load is pipeline's outbox written as a use case writes it
(`outbox.add_events`, many transactions of several events). Every event carries its key's sequence
number (`FunnelChanged.version`); read back from the broker, each key's events must come in that order
with none missing, and a repeated event must be an exact redelivery (same event id, same bytes).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest

from crm.pipeline.events.v1 import pipeline_events_pb2 as ev
from crm_pipeline.adapters.orm import OUTBOX
from crm_platform.db import Database
from crm_platform.outbox import add_events, event_rows
from tests.faults.history import History, read_outbox, read_topic
from tests.support.infra import ROOT, Broker, postgres_available, postgres_database, wait_for
from tests.support.system import stack_mod

pytestmark = pytest.mark.faults

TOPIC = "crm.pipeline.funnel.v1"
KEYS, PER_KEY = 30, 60


def _holder_pid(admin) -> int | None:
    """The OS pid of the relay holding the lease (its lease connection's application_name)."""
    row = admin.execute("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'crm-relay-lease%'"
                        ).fetchone()
    return int(row[0].rsplit("=", 1)[1]) if row else None


def _mid_batch(admin) -> bool:
    """The relay has taken rows (FOR UPDATE: a RowShareLock on the outbox) and not committed them yet: it is
    producing them, or marking them."""
    return admin.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                         "WHERE l.relation = 'outbox'::regclass AND l.mode = 'RowShareLock' "
                         "AND a.state = 'idle in transaction'").fetchone()[0] > 0


@pytest.mark.timeout(600)
def test_two_relays_one_killed_mid_batch_keep_every_keys_order(tmp_path):
    if not postgres_available():
        pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432: the relay lease under test is PostgreSQL's")
    broker = Broker().start()
    procs: list[subprocess.Popen] = []
    try:
        with postgres_database("crm_relay_failover") as url:
            try:
                _run(url, broker, procs, tmp_path)
            finally:
                _stop(procs)  # before the database is dropped
    finally:
        broker.stop()


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def _run(url: str, broker: Broker, procs: list, tmp_path) -> None:
    """Start the two relays, load, kill the active one mid-batch, then check what reached the broker."""
    env = {**os.environ, **stack_mod.environment(tmp_path, extra={
        "PIPELINE_DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "PIPELINE_HEALTH_PORT": "0", "AUTO_MIGRATE": "0"})}
    (tmp_path / "metrics").mkdir(exist_ok=True)  # PROMETHEUS_MULTIPROC_DIR, as `Stack` makes it
    subprocess.run([sys.executable, "-m", "crm_pipeline", "migrate"], cwd=ROOT, env=env, check=True,
                   timeout=120)
    for i in range(2):
        log = open(tmp_path / f"relay-{i}.log", "wb")  # noqa: SIM115 - owned by the child
        procs.append(subprocess.Popen([sys.executable, "-m", "crm_pipeline", "relay"], cwd=ROOT, env=env,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    admin = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    wait_for(lambda: _holder_pid(admin), timeout=60, message="a relay holding the lease")
    first = _holder_pid(admin)
    assert first in {p.pid for p in procs}

    db = Database(url)
    keys = [str(uuid.uuid4()) for _ in range(KEYS)]
    written: dict[str, list[str]] = {k: [] for k in keys}  # event ids per key, in sequence
    done = threading.Event()

    def load():
        order = [k for k in keys for _ in range(PER_KEY)]
        random.Random(7).shuffle(order)
        seq = {k: 0 for k in keys}
        for start in range(0, len(order), 12):  # transactions of 12 events, ~150 a second
            events = []
            for k in order[start:start + 12]:
                seq[k] += 1
                events.append((TOPIC, "funnel", k, ev.FunnelChanged(funnel_id=k, entity="deal",
                                                                     version=seq[k])))
            with db.session(write=True) as s:
                rows = event_rows(events, company_id="c", actor_id="t")
                add_events(s, OUTBOX, rows)
            for (_, _, k, _), row in zip(events, rows):
                written[k].append(row["event_id"])
            time.sleep(0.08)
        done.set()

    writer = threading.Thread(target=load, daemon=True)
    writer.start()
    # once a third of the load is out, kill the active relay while it holds a batch it took
    wait_for(lambda: admin.execute("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
             .fetchone()[0] >= KEYS * PER_KEY // 3, timeout=120, interval=0.05, message="a third published")
    wait_for(lambda: _mid_batch(admin), timeout=30, interval=0.001, message="the relay in a batch")
    os.kill(first, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: (pid := _holder_pid(admin)) and pid != first, timeout=30, interval=0.05,
             message="the standby holding the lease")
    takeover = time.monotonic() - killed_at
    assert takeover < 5, takeover  # released with the killed process's connection, retried every 1 s
    assert done.wait(120)
    wait_for(lambda: admin.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]
             == 0, timeout=120, interval=0.2, message="every event published")

    total = KEYS * PER_KEY
    # the history checker: every written event on the broker once (a repeat only as an exact
    # redelivery), in its key's order; the outbox holds the same sequence
    h = History("two relays, one killed mid-batch")
    events = read_topic(broker.bootstrap, [TOPIC], {ev.FunnelChanged.DESCRIPTOR.full_name: ev.FunnelChanged})
    h.check_events("events per key (broker), by id", events, written, lambda e: e.event_id)
    p = h.check_events("events per key (broker), by sequence", events, {k: list(range(1, PER_KEY + 1)) for k in keys},
                       lambda e: e.message.version)
    h.check_events("events per key (outbox)", read_outbox(url, [TOPIC]), written, lambda e: e.event_id)
    redelivered = p.redelivered
    print(f"takeover {takeover:.2f}s; {total} events, {redelivered} redelivered after the kill")
    admin.close()
    db.dispose()
