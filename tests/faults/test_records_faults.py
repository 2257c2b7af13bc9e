"""Records under faults: pipeline down (writes needing a stage answer 503 at once, reads keep working),
the broker down (writes succeed, their events are published once it is back)."""

from __future__ import annotations

import time

import pytest

from crm.records.events.v1 import records_events_pb2 as rev
from tests.faults.history import History, read_topic
from tests.support.events import collect
from tests.support.infra import wait_for, wait_port
from tests.support.system import Api, sign_up

pytestmark = pytest.mark.faults


def test_pipeline_down_makes_writes_503_quickly_while_reads_keep_working(own_system):
    api = Api(own_system.gateway_url())
    a = sign_up(api)
    c = a["api"]
    assert c.post("/api/v1/deals", json={"title": "Before"}).status_code == 201
    b = sign_up(api)
    own_system.stop("pipeline")
    try:
        started = time.monotonic()
        resp = b["api"].post("/api/v1/deals", json={"title": "During"})
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "service_unavailable", resp.text
        assert time.monotonic() - started < 10
        assert b["api"].get("/api/v1/deals").json()["items"] == []  # nothing half-saved
        listed = c.get("/api/v1/deals")
        assert listed.status_code == 200 and [d["title"] for d in listed.json()["items"]] == ["Before"]
    finally:
        own_system.start("pipeline")
    assert wait_for(lambda: b["api"].post("/api/v1/deals", json={"title": "After"}).status_code == 201, 60)


def test_a_deal_saved_while_the_broker_is_down_is_announced_later(own_system):
    api = Api(own_system.gateway_url())
    c = sign_up(api)["api"]
    c.post("/api/v1/deals", json={"title": "Warm-up"})  # stage context cached before the broker goes
    own_system.stop("broker")
    try:
        resp = c.post("/api/v1/deals", json={"title": "Offline"})
        assert resp.status_code == 201, resp.text
    finally:
        own_system.start("broker")
    wait_port(int(own_system.env["BROKER_PORT"]))
    deal_id = resp.json()["id"]
    found = collect(own_system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.records.deal.v1", rev.DealCreated,
                    lambda m: m.deal.id == deal_id, timeout=60)
    assert found[0][1].deal.title == "Offline"
    created = rev.DealCreated.DESCRIPTOR.full_name
    events = read_topic(own_system.env["KAFKA_BOOTSTRAP_SERVERS"], ["crm.records.deal.v1"], {created: rev.DealCreated})
    History("broker down under records").check_events(
        "DealCreated of the deal (broker)", {deal_id: [e for e in events.get(deal_id, []) if e.event_type == created]},
        {deal_id: ["Offline"]}, lambda e: e.message.deal.title)
