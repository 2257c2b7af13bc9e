"""Crashes at the worst moments, checked by the history checker:

- a relay killed after the broker acknowledged its batch and before it marked the rows published
  (failpoint `relay.after_publish`): the restarted relay publishes them again, consumers absorb the
  duplicates (each effect once);
- a create with an `Idempotency-Key` killed after its key was claimed and before the commit
  (`uow.before_commit`), or after the commit and before the answer reached the caller
  (`uow.after_commit`): the retry after the restart answers 201 with one deal, never a stuck 409.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from crm.records.events.v1 import records_events_pb2 as rev
from tests.faults import effects
from tests.faults.history import History, read_topic
from tests.support.crm import add_stages, create_process, funnel, new_deal, stage_named
from tests.support.infra import wait_for
from tests.support.system import sign_up

pytestmark = pytest.mark.faults

CHANGED = rev.DealStageChanged.DESCRIPTOR.full_name


def _outbox_pending(system, service: str) -> int:
    return effects.query(effects.database_url(system, service),
                         "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL")[0][0]


def _restart_with(system, service: str, failpoint: str):
    """Stop `service` gracefully, start it with `failpoint` armed; wait until it serves."""
    system.stop(service)
    proc = system.start(service, {"CRM_FAILPOINTS": failpoint})
    health = f"http://127.0.0.1:{system.env[f'{service.upper()}_HEALTH_PORT']}/readyz"

    def ready():
        try:
            return requests.get(health, timeout=2).status_code == 200
        except requests.RequestException:
            return False
    wait_for(ready, timeout=60, interval=0.2, message=f"{service} with {failpoint}")
    return proc


@pytest.mark.timeout(600)
def test_relay_killed_between_publishing_and_marking_duplicates_are_absorbed(system, api):
    admin = sign_up(api)["api"]
    f = add_stages(admin, funnel(admin, "deal"), "in_progress", ["R", "Target"])
    removed, target = stage_named(f, "R")["id"], stage_named(f, "Target")["id"]
    create_process(admin, trigger={"event": "deal.stage_changed"}, comment="moved")
    deals = [admin.post("/api/v1/deals", json={"title": f"D{i}", "stage_id": removed}).json()["id"] for i in range(30)]
    wait_for(lambda: _outbox_pending(system, "records") == 0, timeout=60, message="records' outbox published")
    proc = _restart_with(system, "records", "relay.after_publish")
    h = History("relay killed after publish")
    # one write whose effect is a batch: removing the stage makes records' consumer move its 30 deals in
    # one transaction, 30 DealStageChanged rows the relay takes together
    current = admin.get(f"/api/v1/funnels/{f['id']}").json()
    doc = {"version": current["version"], "removed": [{"stage_id": removed, "move_to_stage_id": target}],
           "groups": [{"key": g["key"], "stages": [{"id": s["id"], "name": s["name"], "color": s["color"]}
                                                   for s in g["stages"] if s["id"] != removed]}
                      for g in current["groups"]]}
    r = admin.put(f"/api/v1/funnels/{f['id']}", json=doc)
    assert r.status_code == 200, r.text
    for d in deals:
        h.ack("move", d, target)
    assert proc.wait(120) == 137  # published a batch, then died before marking it
    left = _outbox_pending(system, "records")
    system.start("records")
    assert left, "the broker has rows the outbox still calls unpublished"
    wait_for(lambda: _outbox_pending(system, "records") == 0, timeout=120, message="the rows published again")
    acked = h.acked("move")
    expected = effects.expected_tasks(acked)
    wait_for(lambda: sum(map(len, effects.tasks_per_deal(admin, deals).values())) >= len(expected), timeout=120,
             interval=1, message="the tasks")
    time.sleep(5)  # nothing more arrives late
    events = read_topic(system.env["KAFKA_BOOTSTRAP_SERVERS"], ["crm.records.deal.v1"], {CHANGED: rev.DealStageChanged})
    changes = {k: [e for e in v if e.event_type == CHANGED] for k, v in events.items() if k in deals}
    p = h.check_events("DealStageChanged per deal (broker)", changes, acked, lambda e: e.message.deal.stage_id)
    assert p.redelivered >= 1  # the batch was on the broker twice
    h.check("tasks per deal", expected, effects.tasks_per_deal(admin, deals))
    log = (system.log_dir / "automation.log").read_text(errors="replace")
    print(f"{len(acked)} moves from one stage removal, {left} rows published but unmarked at the kill, "
          f"{p.redelivered} redelivered; automation logged {log.count('event duplicate ' + CHANGED)} duplicates",
          flush=True)
    effects.assert_nothing_dead_lettered(system)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("failpoint", ["uow.before_commit", "uow.after_commit"])
def test_a_create_killed_mid_call_completes_on_its_retry(system, api, failpoint):
    admin = sign_up(api)["api"]
    funnel(admin, "deal")
    new_deal(admin)  # the stage context cached; records' relay has published the earlier events
    proc = _restart_with(system, "records", failpoint)
    key, title = str(uuid.uuid4()), f"Killed {uuid.uuid4().hex[:8]}"
    h = History(f"create killed at {failpoint}")
    try:
        first = admin.post("/api/v1/deals", json={"title": title}, headers={"Idempotency-Key": key})
        code = first.status_code
    except requests.RequestException as exc:
        code = repr(exc)
    assert code not in (200, 201), code  # the process died inside the call
    assert code == 503 or not isinstance(code, int), first.text
    h.unsure("deal", title)
    assert proc.wait(60) == 137
    system.start("records")
    wait_for(lambda: admin.get("/api/v1/deals?limit=1").status_code == 200, timeout=60, message="records back")
    retry = admin.post("/api/v1/deals", json={"title": title}, headers={"Idempotency-Key": key})
    assert retry.status_code == 201, retry.text  # never 409 idempotency_in_progress
    deal_id = retry.json()["id"]
    h.ack("deal", title, deal_id)
    again = admin.post("/api/v1/deals", json={"title": title}, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["id"] == deal_id, again.text  # a replay
    listed = admin.get(f"/api/v1/deals?q={title}&limit=200").json()["items"]
    h.check("deals with the title", {title: [deal_id]}, {title: [d["id"] for d in listed]})
    assert admin.get(f"/api/v1/deals/{deal_id}/history").json()["items"]  # whole: the deal with its history
    wait_for(lambda: _outbox_pending(system, "records") == 0, timeout=60, message="records' outbox published")
    created = rev.DealCreated.DESCRIPTOR.full_name
    events = read_topic(system.env["KAFKA_BOOTSTRAP_SERVERS"], ["crm.records.deal.v1"], {created: rev.DealCreated})
    made = {k: [e for e in v if e.event_type == created] for k, v in events.items()
            if any(e.event_type == created and e.message.deal.title == title for e in v)}
    h.check_events("DealCreated of the title (broker)", made, {deal_id: [title]}, lambda e: e.message.deal.title)
