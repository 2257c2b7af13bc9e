"""A service paused (SIGSTOP) for 30 s, not killed: its port still accepts connections and nothing answers.

Callers must time out cleanly (503 in the API's error format, never a 500 or a hang), the other services
keep answering, and after SIGCONT nothing acknowledged is lost or done twice (the history checker):

- records paused: deal moves through the gateway meanwhile; a move that timed out may still be done
  once records runs again (an unsure write: that deal is left alone afterwards, so its order is known);
- automation paused: its consumer misses its heartbeats (the broker drops it from the group) while
  deals keep moving; after SIGCONT it rejoins and makes every task once.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests

from crm.records.events.v1 import records_events_pb2 as rev
from tests.faults import effects
from tests.faults.history import History, read_topic
from tests.faults.test_faults import _moving_company
from tests.support.crm import new_deal
from tests.support.infra import wait_for

pytestmark = pytest.mark.faults

PAUSE = 30.0
CHANGED = rev.DealStageChanged.DESCRIPTOR.full_name
NEEDS = {"records": "/api/v1/deals?limit=1", "automation": "/api/v1/processes"}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("service", ["records", "automation"])
def test_a_paused_service_times_out_cleanly_and_loses_nothing(system, api, service):
    admin, (stage_a, stage_b) = _moving_company(api)
    deals = [new_deal(admin)["id"] for _ in range(40)]
    h = History(f"{service} paused")
    moves: dict[str, list] = {d: [] for d in deals}
    retired: set[str] = set()  # a deal whose move was not acknowledged is not moved again
    answers: list[tuple[int | str, float, dict | None]] = []  # during the pause: status, seconds, error body
    paused, stop = threading.Event(), threading.Event()
    lock = threading.Lock()

    def load(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            with lock:
                live = [d for d in deals if d not in retired]
            if not live:
                return
            d = live[(n * 13 + i) % len(live)]
            to = stage_b if (moves[d][-1:] or [stage_a]) == [stage_a] else stage_a
            started = time.monotonic()
            try:
                r = admin.patch(f"/api/v1/deals/{d}", json={"stage_id": to})
                code, body = r.status_code, (r.json() if r.status_code != 200 else None)
            except (requests.RequestException, ValueError) as exc:
                code, body = repr(exc), None
            took = time.monotonic() - started
            with lock:
                if code == 200:
                    h.ack("move", d, to)
                    moves[d].append(to)
                else:
                    h.unsure("move", d, to)
                    retired.add(d)
                if paused.is_set():
                    answers.append((code, took, body))
            time.sleep(0.05)

    workers = [threading.Thread(target=load, args=(n,)) for n in range(2)]
    for w in workers:
        w.start()
    time.sleep(3)
    system.signal(service, signal.SIGSTOP)
    paused.set()
    began = time.monotonic()
    try:
        probes = []
        while time.monotonic() - began < PAUSE:
            started = time.monotonic()
            r = admin.get(NEEDS[service])
            probes.append((r.status_code, time.monotonic() - started, r.json()))
            assert admin.get("/api/v1/funnels").status_code == 200  # the rest keeps answering
            time.sleep(2)
    finally:
        system.signal(service, signal.SIGCONT)
        paused.clear()
    resumed = time.monotonic()
    wait_for(lambda: admin.get(NEEDS[service]).status_code == 200, timeout=60, message=f"{service} answering")
    answering = time.monotonic() - resumed
    time.sleep(3)
    stop.set()
    for w in workers:
        w.join(60)

    # callers timed out cleanly: 503 in the error format (or a 200 from a service that needs no answer)
    for code, took, body in probes + answers:
        assert code in (200, 503), (code, body)
        if code == 503:
            assert body["error"]["code"] == "service_unavailable" and body["error"]["message"], body
    slowest = max((took for _, took, _ in probes + answers), default=0)
    failed = sum(1 for code, _, _ in probes + answers if code != 200)
    print(f"PAUSE {service} {PAUSE:.0f} s: {len(probes) + len(answers)} calls meanwhile, {failed} answered 503 "
          f"(slowest {slowest:.1f} s), answering {answering:.1f} s after SIGCONT; {h.count('move')} moves "
          f"acknowledged, {sum(map(len, h.maybe('move').values()))} not", flush=True)
    if service == "records":
        assert failed, "a paused records answered every call"

    acked = {d: m for d, m in h.acked("move").items() if m}
    maybe = {d: ["task"] for d in h.maybe("move")}
    expected = effects.expected_tasks(acked)
    wait_for(lambda: sum(map(len, effects.tasks_per_deal(admin, deals).values())) >= sum(map(len, expected.values())),
             timeout=180, interval=2, message="every task")
    recovered = time.monotonic() - resumed
    time.sleep(5)  # nothing more arrives late
    events = read_topic(system.env["KAFKA_BOOTSTRAP_SERVERS"], ["crm.records.deal.v1"], {CHANGED: rev.DealStageChanged})
    changes = {k: [e for e in v if e.event_type == CHANGED] for k, v in events.items() if k in moves}
    h.check_events("DealStageChanged per deal (broker)", changes, acked, lambda e: e.message.deal.stage_id,
                   optional=h.maybe("move"))
    h.check("tasks per deal", expected, effects.tasks_per_deal(admin, deals), optional=maybe)
    final = {d: [admin.get(f"/api/v1/deals/{d}").json()["stage_id"]] for d in acked if d not in retired}
    h.check("final stage of the deals moved only with acknowledgements", {d: [acked[d][-1]] for d in final}, final)
    print(f"RECOVERED every task {recovered:.0f} s after SIGCONT", flush=True)
    effects.assert_nothing_dead_lettered(system)
