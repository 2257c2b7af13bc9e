"""Business processes end to end: record events through the broker become tasks in records (F17)."""

from __future__ import annotations

import datetime as _dt
import uuid
import zoneinfo

import pytest
from kafka import KafkaConsumer, KafkaProducer

from tests.support.crm import (add_stages, count_tasks, create_process, funnel, new_deal, new_manager, stages,
                               tasks)
from tests.support.infra import wait_for
from tests.support.system import sign_up

pytestmark = pytest.mark.e2e
TASHKENT = zoneinfo.ZoneInfo("Asia/Tashkent")


def end_of_day(days: int = 0, months: int = 0) -> set[str]:
    """The expected due times (UTC) for today's date in Tashkent, tolerant of a midnight crossing."""
    out = set()
    for now in (_dt.datetime.now(TASHKENT) - _dt.timedelta(minutes=2), _dt.datetime.now(TASHKENT)):
        d = now.date() + _dt.timedelta(days=days)
        if months:
            import calendar
            y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
            d = _dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))
        end = _dt.datetime.combine(d, _dt.time(23, 59, 59), tzinfo=TASHKENT).astimezone(_dt.timezone.utc)
        out.add(end.strftime("%Y-%m-%dT%H:%M:%S"))
    return out


# ---- definitions --------------------------------------------------------------------------------
def test_process_writes_are_admin_only_and_reads_for_everyone(api):
    a = sign_up(api)
    admin = a["api"]
    _, manager = new_manager(api, admin)
    denied = manager.post("/api/v1/processes", json={"type": "task", "trigger": {"event": "deal.created"},
                                                     "due": "today", "assignee": "author", "task_type": "call",
                                                     "comment": "x"})
    assert denied.status_code == 403
    p = create_process(admin, trigger={"event": "deal.created"})
    assert [x["id"] for x in manager.get("/api/v1/processes").json()["items"]] == [p["id"]]
    assert manager.patch(f"/api/v1/processes/{p['id']}", json={"enabled": False}).status_code == 403
    assert manager.delete(f"/api/v1/processes/{p['id']}").status_code == 403
    off = admin.patch(f"/api/v1/processes/{p['id']}", json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False


def test_invalid_definitions_are_refused_and_nothing_saved(api):
    a, b = sign_up(api), sign_up(api)
    admin = a["api"]
    deal_f, client_f = funnel(admin, "deal"), funnel(admin, "client")
    other_stage = stages(funnel(b["api"], "deal"))[0]["id"]
    cases = [
        ({"trigger": {"event": "deal.stage_changed", "stage_id": str(uuid.uuid4())}}, "trigger.stage_id"),
        ({"trigger": {"event": "deal.stage_changed", "stage_id": other_stage}}, "trigger.stage_id"),
        ({"trigger": {"event": "deal.stage_changed", "stage_id": stages(client_f)[0]["id"]}}, "trigger.stage_id"),
        ({"trigger": {"event": "deal.stage_changed", "stage_id": stages(deal_f)[0]["id"]},
          "conditions": {"funnel_id": client_f["id"]}}, "conditions.funnel_id"),
        ({"assignee": "boss"}, "assignee"),
        ({"comment": ""}, "comment"),
        ({"due": "yesterday"}, "due"),
        ({"trigger": {"event": "deal.deleted"}}, "trigger.event"),
        ({"task_type": "no-such-type"}, "task_type"),
    ]
    for overrides, field in cases:
        body = {"type": "task", "trigger": {"event": "deal.stage_changed"}, "due": "today", "assignee": "author",
                "task_type": "call", "comment": "x", **overrides}
        resp = admin.post("/api/v1/processes", json=body)
        assert resp.status_code == 422, (overrides, resp.text)
        assert field in [f["field"] for f in resp.json()["error"]["details"]["fields"]], (overrides, resp.text)
    assert admin.get("/api/v1/processes").json()["items"] == []
    assert b["api"].get(f"/api/v1/processes/{uuid.uuid4()}").status_code == 404


# ---- running --------------------------------------------------------------------------------------
def test_moving_a_deal_creates_the_task_for_its_responsible(api):
    a = sign_up(api)
    admin = a["api"]
    f = add_stages(admin, funnel(admin, "deal"), "in_progress", ["Offer sent", "Negotiation"])
    offer = next(s for s in stages(f) if s["name"] == "Offer sent")
    nego = next(s for s in stages(f) if s["name"] == "Negotiation")
    manager_id, _ = new_manager(api, admin)
    p = create_process(admin, trigger={"event": "deal.stage_changed", "stage_id": offer["id"]}, due="next_day",
                       assignee="responsible", task_type="call", comment="Follow up the offer")
    deal = new_deal(admin, responsible_id=manager_id)
    assert admin.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": nego["id"]}).status_code == 200
    assert admin.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": offer["id"]}).status_code == 200
    found = wait_for(lambda: tasks(admin, deal_id=deal["id"]), timeout=30, message="the process's task")
    assert len(found) == 1
    task = found[0]
    assert task["responsible_id"] == manager_id
    assert task["type"] == "call" and task["comment"] == "Follow up the offer"
    assert task["due_at"][:19] in end_of_day(days=1)
    runs = wait_for(lambda: admin.get(f"/api/v1/processes/{p['id']}/runs").json()["items"], timeout=10)
    assert runs[0]["outcome"] == "succeeded" and runs[0]["task_id"] == task["id"]
    assert runs[0]["record_id"] == deal["id"] and runs[0]["event"] == "deal.stage_changed"


TRIGGERS = [
    ("deal.created", "today", "author", {"days": 0}),
    ("deal.responsible_changed", "week", "responsible", {"days": 7}),
    ("client.created", "month", "responsible", {"months": 1}),
    ("client.stage_changed", "next_day", "author", {"days": 1}),
    ("client.responsible_changed", "today", "responsible", {"days": 0}),
]


@pytest.mark.parametrize("event,due,assignee,offset", TRIGGERS, ids=[t[0] for t in TRIGGERS])
def test_every_trigger_and_timing(api, event, due, assignee, offset):
    a = sign_up(api, language="en")  # a deal moves to the English seed's "Contacted"
    admin, admin_id = a["api"], a["user"]["id"]
    manager_id, _ = new_manager(api, admin)
    entity = event.split(".")[0]
    f = funnel(admin, entity)
    if entity == "client":
        f = add_stages(admin, f, "in_progress", ["Contacted"])
    create_process(admin, trigger={"event": event}, due=due, assignee=assignee, task_type="meeting",
                   comment=f"On {event}")
    path = "/api/v1/deals" if entity == "deal" else "/api/v1/clients"
    body = {"title": "T"} if entity == "deal" else {"name": "Client T"}
    record = admin.post(path, json=body).json()
    if event.endswith("responsible_changed"):
        assert admin.patch(f"{path}/{record['id']}", json={"responsible_id": manager_id}).status_code == 200
    if event.endswith("stage_changed"):
        target = next(s for s in stages(f) if s["name"] == "Contacted")
        assert admin.patch(f"{path}/{record['id']}", json={"stage_id": target["id"]}).status_code == 200
    found = wait_for(lambda: tasks(admin, **{f"{entity}_id": record["id"]}), timeout=30, message="the task")
    assert len(found) == 1
    task = found[0]
    expected = admin_id if assignee == "author" else (manager_id if "responsible_changed" in event else admin_id)
    assert task["responsible_id"] == expected
    assert task["type"] == "meeting" and task["comment"] == f"On {event}"
    assert task["due_at"][:19] in end_of_day(**offset)


def test_a_redelivered_event_makes_one_task(api, system):
    a = sign_up(api)
    admin = a["api"]
    f = add_stages(admin, funnel(admin, "deal"), "in_progress", ["X", "Y"])
    x = next(s for s in stages(f) if s["name"] == "X")
    y = next(s for s in stages(f) if s["name"] == "Y")
    create_process(admin, trigger={"event": "deal.stage_changed", "stage_id": x["id"]}, comment="on X")
    create_process(admin, trigger={"event": "deal.stage_changed", "stage_id": y["id"]}, comment="on Y")
    deal = new_deal(admin)
    admin.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": x["id"]})
    wait_for(lambda: tasks(admin, deal_id=deal["id"]), timeout=30)
    bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]
    original = _find_record(bootstrap, "crm.records.deal.v1", deal["id"], b"crm.records.events.v1.DealStageChanged")
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send("crm.records.deal.v1", key=original.key, value=original.value,
                  headers=list(original.headers)).get(10)
    producer.close()
    # a later event of the same deal (same key, same partition) is handled after the duplicate
    admin.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": y["id"]})
    wait_for(lambda: any(t["comment"] == "on Y" for t in tasks(admin, deal_id=deal["id"])), timeout=30)
    assert [t["comment"] for t in tasks(admin, deal_id=deal["id"])].count("on X") == 1


def _find_record(bootstrap: str, topic: str, key: str, event_type: bytes):
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"t-{uuid.uuid4().hex[:6]}",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        def poll():
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    if r.key == key.encode() and dict(r.headers).get("event_type") == event_type:
                        return r
            return None
        return wait_for(poll, timeout=30, interval=0, message="the original event")
    finally:
        consumer.close()


def test_a_failing_run_is_retried_then_parked_and_shown_failed(api):
    a = sign_up(api)
    admin = a["api"]
    author_id, _ = new_manager(api, admin)
    roles = admin.get("/api/v1/roles").json()["items"]
    admin_role = next(r["id"] for r in roles if r["permissions"]["admin"])
    assert admin.patch(f"/api/v1/users/{author_id}", json={"role_id": admin_role}).status_code == 200
    email = admin.get(f"/api/v1/users/{author_id}").json()["email"]
    author = api.as_user(api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"})
                         .json()["access_token"])
    p = create_process(author, trigger={"event": "deal.created"}, assignee="author", comment="to the author")
    assert admin.delete(f"/api/v1/users/{author_id}").status_code == 200  # the assignee can no longer get tasks
    deal = new_deal(admin)
    runs = wait_for(lambda: [r for r in admin.get(f"/api/v1/processes/{p['id']}/runs").json()["items"]
                             if r["outcome"] == "failed"], timeout=60, message="the failed run")
    assert runs[0]["record_id"] == deal["id"] and runs[0]["error"]
    assert tasks(admin, deal_id=deal["id"]) == []
    # the consumer kept going: the next event is handled
    create_process(admin, trigger={"event": "deal.created"}, assignee="author", comment="to the admin")
    later = new_deal(admin)
    assert wait_for(lambda: tasks(admin, deal_id=later["id"]), timeout=30)


def _move_many(admin, stage_id: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        deal = new_deal(admin)
        resp = admin.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": stage_id})
        assert resp.status_code == 200, resp.text
        ids.append(deal["id"])
    return ids


def test_automation_stopped_while_100_deals_move_then_started(api, system):
    a = sign_up(api)
    admin = a["api"]
    f = add_stages(admin, funnel(admin, "deal"), "in_progress", ["Go"])
    go = next(s for s in stages(f) if s["name"] == "Go")
    create_process(admin, trigger={"event": "deal.stage_changed", "stage_id": go["id"]}, comment="moved")
    system.stop("automation")
    try:
        ids = set(_move_many(admin, go["id"], 100))
    finally:
        system.start("automation")
    counts = wait_for(lambda: (c := count_tasks(admin, ids)) and len(c) == 100 and c, timeout=120,
                      message="100 tasks")
    assert set(counts.values()) == {1}


def test_two_replicas_make_no_duplicates_and_no_gaps(api, system):
    a = sign_up(api)
    admin = a["api"]
    f = add_stages(admin, funnel(admin, "deal"), "in_progress", ["Both"])
    both = next(s for s in stages(f) if s["name"] == "Both")
    create_process(admin, trigger={"event": "deal.stage_changed", "stage_id": both["id"]}, comment="replicas")
    system.start_replica("automation", "automation-2")
    try:
        ids = set(_move_many(admin, both["id"], 100))
        counts = wait_for(lambda: (c := count_tasks(admin, ids)) and len(c) == 100 and c, timeout=120,
                          message="100 tasks")
        assert set(counts.values()) == {1}
    finally:
        system.stop("automation-2")
