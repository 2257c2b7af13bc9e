"""The reliability suite: real faults injected into the running system, and what survived them.

Each test says what it broke, under which load, and what it counted; docs/reliability.md keeps the
results. Run with `make test-faults` (also part of `.ci/run`).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests

from crm.records.events.v1 import records_events_pb2 as rev
from tests.faults import effects
from tests.faults.history import History, one_each, read_topic
from tests.support.crm import add_stages, count_tasks, create_process, funnel, new_deal, stage_named, tasks
from tests.support.infra import free_port, wait_for, wait_port
from tests.support.system import Api, sign_up, start_system

pytestmark = pytest.mark.faults


def _moving_company(api, names=("A", "B")):
    a = sign_up(api)
    admin = a["api"]
    f = add_stages(admin, funnel(admin, "deal"), "in_progress", list(names))
    create_process(admin, trigger={"event": "deal.stage_changed"}, comment="moved")
    return admin, [stage_named(f, n)["id"] for n in names]


@pytest.mark.timeout(900)
def test_broker_down_30s_while_1000_deals_move(system, api):
    admin, (stage_a, stage_b) = _moving_company(api)
    deals = [new_deal(admin)["id"] for _ in range(200)]
    system.stop("broker")
    down_at = time.monotonic()
    h = History("broker down")

    def move(item):
        deal_id, stage = item
        code = admin.patch(f"/api/v1/deals/{deal_id}", json={"stage_id": stage}).status_code
        if code == 200:  # a deal's moves are in separate rounds: acknowledged in its order
            h.ack("move", deal_id, stage)
        return code

    # 1,000 moves in five rounds, every deal once a round: one deal's moves never overtake each other
    # (a request stalled for a second let the next move of its deal run first, and the stalled one then
    # found the deal already in its stage: a move without a change, and no event)
    codes = []
    with cf.ThreadPoolExecutor(4) as pool:
        for i in range(5):
            codes += pool.map(move, [(d, stage_a if i % 2 == 0 else stage_b) for d in deals])
    assert codes.count(200) == 1000, {c: codes.count(c) for c in set(codes)}  # every request succeeded
    time.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
    system.start("broker")
    wait_port(int(system.env["BROKER_PORT"]))
    counts = wait_for(lambda: (c := count_tasks(admin, set(deals))) and sum(c.values()) >= 1000 and c,
                      timeout=240, interval=2, message="1,000 tasks")
    time.sleep(3)  # nothing more arrives late
    counts = count_tasks(admin, set(deals))
    assert sum(counts.values()) == 1000 and set(counts.values()) == {5}
    moves = h.acked("move")
    h.check("tasks per deal", effects.expected_tasks(moves), effects.tasks_per_deal(admin, deals))
    changed = rev.DealStageChanged.DESCRIPTOR.full_name
    events = read_topic(system.env["KAFKA_BOOTSTRAP_SERVERS"], ["crm.records.deal.v1"], {changed: rev.DealStageChanged})
    h.check_events("DealStageChanged per deal (broker, republished from the outbox)",
                   {k: [e for e in v if e.event_type == changed] for k, v in events.items() if k in moves}, moves,
                   lambda e: e.message.deal.stage_id)


NEEDS = {  # a request that needs the service, and one that does not
    "identity": ("/api/v1/users", "/api/v1/funnels"),
    "pipeline": ("/api/v1/funnels", "/api/v1/users"),
    "records": ("/api/v1/deals", "/api/v1/funnels"),
    "automation": ("/api/v1/processes", "/api/v1/deals"),
    "billing": ("/api/v1/billing", "/api/v1/funnels"),
}


@pytest.mark.parametrize("service", list(NEEDS))
def test_a_killed_service_fails_fast_and_loses_no_acknowledged_write(system, api, service):
    a = sign_up(api)
    admin = a["api"]
    funnel(admin, "deal")
    prefix = uuid.uuid4().hex[:8]
    acknowledged, stop = [], threading.Event()

    def load():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = admin.post("/api/v1/deals", json={"title": f"{prefix}-{i}"})
            except requests.RequestException:
                continue
            if r.status_code == 201:
                acknowledged.append(r.json()["id"])
            else:
                assert r.status_code in (503, 402), r.text

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(1)
    system.kill(service)
    try:
        needs, other = NEEDS[service]
        started = time.monotonic()
        down = admin.get(needs)
        assert down.status_code == 503 and time.monotonic() - started <= 2.5
        assert down.json()["error"]["code"] == "service_unavailable"
        assert admin.get(other).status_code == 200
        time.sleep(1)
    finally:
        system.start(service)
    wait_for(lambda: admin.get(needs).status_code == 200, timeout=30, message=f"{service} back")
    time.sleep(1)
    stop.set()
    worker.join(30)
    assert acknowledged
    for deal_id in acknowledged:  # every write answered 2xx is there
        assert admin.get(f"/api/v1/deals/{deal_id}").status_code == 200
    listed = _all_deal_ids(admin, prefix)
    assert set(acknowledged) <= listed
    History(f"{service} killed").check("acknowledged deals (listed)", one_each(acknowledged),
                                       {d: [d] for d in listed}, optional=one_each(listed - set(acknowledged)))
    # a create cut off by the kill either did not happen or happened whole (deal, history, event)
    for deal_id in listed - set(acknowledged):
        history = admin.get(f"/api/v1/deals/{deal_id}/history").json()["items"]
        assert history, f"deal {deal_id} exists without its history"


def test_the_deal_card_degrades_when_an_optional_service_is_down(system, api):
    admin = sign_up(api)["api"]
    funnel(admin, "deal")
    deal = new_deal(admin)
    health = f"http://127.0.0.1:{system.env['RECORDS_HEALTH_PORT']}/readyz"
    wait_for(lambda: requests.get(health, timeout=2).json()["loops"]["caches"], timeout=60,
             message="records listening for changes (it caches nothing before)")
    full = admin.get(f"/api/v1/deals/{deal['id']}").json()
    assert full["stage"]["name"] and full["responsible"]["name"] and full["unavailable"] == []
    system.kill("pipeline")
    system.kill("identity")
    # records still knows the stage and the responsible (its caches): the card stays whole
    cached = admin.get(f"/api/v1/deals/{deal['id']}")
    assert cached.status_code == 200 and cached.json()["unavailable"] == []
    assert (cached.json()["stage"], cached.json()["responsible"]) == (full["stage"], full["responsible"])
    system.kill("records")  # a fresh records process has empty caches and cannot fill them
    system.start("records")
    wait_for(lambda: admin.get(f"/api/v1/deals/{deal['id']}").status_code == 200, timeout=30,
             message="records back")
    started = time.monotonic()
    card = admin.get(f"/api/v1/deals/{deal['id']}")
    assert card.status_code == 200 and time.monotonic() - started <= 2.5
    assert card.json()["stage"] is None and sorted(card.json()["unavailable"]) == ["responsible", "stage"]
    assert card.json()["title"] == deal["title"] and card.json()["responsible"]["id"] == deal["responsible_id"]
    # the board has nothing to show without the funnel's stages: 503 from records, well before the
    # gateway's own 2 s deadline to it
    started = time.monotonic()
    board = admin.get(f"/api/v1/board?funnel_id={deal['funnel_id']}")
    assert board.status_code == 503 and time.monotonic() - started <= 1.5
    assert board.json()["error"]["code"] == "service_unavailable"
    system.kill("records")
    started = time.monotonic()
    down = admin.get(f"/api/v1/deals/{deal['id']}")
    assert down.status_code == 503 and time.monotonic() - started <= 2.5
    assert down.json()["error"]["code"] == "service_unavailable"


def _all_deal_ids(admin, q: str) -> set[str]:
    ids, cursor = set(), ""
    while True:
        page = admin.get(f"/api/v1/deals?q={q}&limit=200&cursor={cursor}").json()
        ids |= {d["id"] for d in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def test_consumer_killed_between_database_and_offset_commit(system, api):
    admin, (stage_a, _) = _moving_company(api)
    deal = new_deal(admin)
    metrics_url = f"http://127.0.0.1:{system.env['AUTOMATION_HEALTH_PORT']}/metrics"
    applied = 'crm_events_consumed_total{consumer="automation.record-triggers",outcome="applied"} '

    def applied_events() -> float:
        text = requests.get(metrics_url, timeout=5).text
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(applied))

    # The failpoint ends the process after the first event it applies: let automation apply the
    # earlier ones (the company, the deal's creation) first, so that this is the stage change whose
    # transaction made the task
    wait_for(lambda: applied_events() >= 2, timeout=60, message="automation applying the earlier events")
    system.stop("automation")
    proc = system.start("automation", {"CRM_FAILPOINTS": "consumer.after_db_commit"})
    admin.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": stage_a})
    assert proc.wait(240) == 137  # it applied the event, then died before committing the offset
    assert len(tasks(admin, deal_id=deal["id"])) == 1
    system.start("automation")
    log = system.log_dir / "automation.log"
    wait_for(lambda: "event duplicate crm.records.events.v1.DealStageChanged" in log.read_text(errors="replace"),
             timeout=60, message="the stage change redelivered")
    later = new_deal(admin)
    admin.patch(f"/api/v1/deals/{later['id']}", json={"stage_id": stage_a})
    wait_for(lambda: tasks(admin, deal_id=later["id"]), timeout=60, message="the next task")
    assert len(tasks(admin, deal_id=deal["id"])) == 1  # the redelivered event had no second effect
    History("consumer killed").check("tasks per deal", {deal["id"]: ["task"], later["id"]: ["task"]},
                                     effects.tasks_per_deal(admin, [deal["id"], later["id"]]))


def test_poison_message_goes_to_the_dead_letter_topic(system, api):
    from kafka import KafkaConsumer, KafkaProducer

    admin, (stage_a, _) = _moving_company(api)
    bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send("crm.records.deal.v1", key=b"poison", value=b"\x08\x96\x01 definitely not a deal",
                  headers=[("event_type", b"crm.records.events.v1.DealStageChanged")]).get(10)
    producer.close()
    deal = new_deal(admin)
    admin.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": stage_a})
    wait_for(lambda: tasks(admin, deal_id=deal["id"]), timeout=60, message="the consumer going on")
    consumer = KafkaConsumer("crm.records.deal.v1.dlq", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             group_id=f"t-{uuid.uuid4().hex[:6]}", enable_auto_commit=False)
    try:
        def dead():
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    if r.key == b"poison":
                        return dict(r.headers)
            return None
        headers = wait_for(dead, timeout=30, interval=0, message="the dead letter")
    finally:
        consumer.close()
    assert b"cannot decode" in headers["error"]
    metrics = requests.get(f"http://127.0.0.1:{system.env['AUTOMATION_HEALTH_PORT']}/metrics", timeout=5).text
    assert 'crm_events_dead_lettered_total{consumer="automation.record-triggers"} 1.0' in metrics


@pytest.fixture()
def own_postgres():
    """A PostgreSQL cluster of the test's own (initdb/pg_ctl on a spare port), run as the postgres user."""
    bindir = pathlib.Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
    if not (bindir / "initdb").exists():
        pytest.fail("PostgreSQL server binaries are needed for this test (initdb, pg_ctl)")
    top = pathlib.Path(tempfile.mkdtemp(prefix="crm-pg-"))  # outside pytest's root-only tmp tree
    top.chmod(0o755)
    data = top / "pg"
    data.mkdir()
    shutil.chown(data, "postgres")
    port = free_port()
    as_pg = ["runuser", "-u", "postgres", "--"]
    init = subprocess.run(as_pg + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                          capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr

    def ctl(*args):
        subprocess.run(as_pg + [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"), *args,
                                "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1"],
                       check=True, capture_output=True)

    ctl("start")
    yield {"url": f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", "ctl": ctl}
    subprocess.run(as_pg + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                   capture_output=True)
    shutil.rmtree(top, ignore_errors=True)


def test_database_down_fails_fast_and_recovers_without_restart(tmp_path, own_postgres):
    system = start_system(tmp_path / "sys", database_urls={"records": own_postgres["url"]})
    try:
        api = Api(system.gateway_url())
        admin = sign_up(api)["api"]
        funnel(admin, "deal")
        deal = new_deal(admin)
        own_postgres["ctl"]("stop", "-m", "fast")
        started = time.monotonic()
        resp = admin.get(f"/api/v1/deals/{deal['id']}")
        assert resp.status_code == 503 and time.monotonic() - started <= 2.5, resp.text
        assert admin.post("/api/v1/deals", json={"title": "while down"}).status_code == 503
        assert admin.get("/api/v1/funnels").status_code == 200  # the rest keeps working
        own_postgres["ctl"]("start")
        wait_for(lambda: admin.get(f"/api/v1/deals/{deal['id']}").status_code == 200, timeout=30,
                 message="records back on its database")
        assert system.running["records"].poll() is None  # healed without a restart
    finally:
        system.stop_all()


@pytest.mark.timeout(600)
def test_rolling_restart_under_steady_load_fails_no_request(system, api):
    admin, (stage_a, stage_b) = _moving_company(api)
    deals = [new_deal(admin)["id"] for _ in range(20)]
    failures, done, stop, rolling = [], [0], threading.Event(), [""]

    def load(n):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = admin.patch(f"/api/v1/deals/{deals[(n * 7 + i) % len(deals)]}",
                                json={"stage_id": stage_a if i % 2 else stage_b})
                r2 = admin.get("/api/v1/funnels")
                codes = (r.status_code, r2.status_code)
            except requests.RequestException as exc:
                codes = (repr(exc),)
            if codes != (200, 200):
                failures.append((rolling[0], codes, r.text[:300] if r.status_code != 200 else r2.text[:300]))
            done[0] += 1

    workers = [threading.Thread(target=load, args=(n,)) for n in range(3)]
    for w in workers:
        w.start()
    try:
        for name in ("identity", "pipeline", "records", "automation", "billing", "gateway"):
            rolling[0] = name
            _roll(system, name)
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    assert done[0] > 50
    assert failures == []


def _roll(system, name: str) -> None:
    """Start the new process beside the old one (they share the port), then SIGTERM the old one.

    The gateway is restarted the way gunicorn restarts without downtime: SIGHUP to its master
    starts new workers on the same listening socket and stops the old ones gracefully.
    """
    if name == "gateway":
        master = system.running["gateway"]
        log = system.log_dir / "gateway.log"
        booted = log.read_text(errors="replace").count("Booting worker")
        os.killpg(master.pid, 0)
        master.send_signal(signal.SIGHUP)
        wait_for(lambda: log.read_text(errors="replace").count("Booting worker") >= booted + 2, timeout=30,
                 message="new gateway workers")
        time.sleep(2)  # the old workers finish what they hold
        return
    new = f"{name}-next"
    log = system.log_dir / f"{new}.log"
    system.start_replica(name, new)
    ready_line = "Booting worker" if name == "gateway" else "health: SERVING"
    wait_for(lambda: log.exists() and ready_line in log.read_text(errors="replace"), timeout=30,
             message=f"the new {name}")
    time.sleep(0.5)
    system.stop(name)  # SIGTERM: graceful stop of the old one
    system.running[name] = system.running.pop(new)
