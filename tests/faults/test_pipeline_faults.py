"""Pipeline under faults: the service down (503, never a hang; the rest keeps working), the broker down."""

from __future__ import annotations

import copy
import time

import pytest

from crm.pipeline.events.v1 import pipeline_events_pb2 as ev
from tests.support.events import collect
from tests.support.infra import wait_for, wait_port
from tests.support.system import Api, sign_up

pytestmark = pytest.mark.faults


def test_pipeline_down_is_503_quickly_and_funnels_come_back_with_it(own_system):
    api = Api(own_system.gateway_url())
    a = sign_up(api)
    own_system.stop("pipeline")
    started = time.monotonic()
    resp = a["api"].get("/api/v1/funnels")
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "service_unavailable"
    assert time.monotonic() - started < 10
    assert resp.headers.get("Retry-After")
    assert a["api"].get("/api/v1/me").status_code == 200  # identity is not affected
    b = sign_up(api)  # signs up while pipeline is down: its CompanyCreated waits in the broker
    own_system.start("pipeline")
    assert wait_for(lambda: b["api"].get("/api/v1/funnels").status_code == 200, 60)
    assert len(b["api"].get("/api/v1/funnels").json()["items"]) == 2


def test_a_funnel_saved_while_the_broker_is_down_is_announced_later(own_system):
    api = Api(own_system.gateway_url())
    a = sign_up(api)
    funnel = a["api"].get("/api/v1/funnels?entity=deal").json()["items"][0]
    own_system.stop("broker")
    edited = copy.deepcopy(funnel)
    edited["groups"][0]["stages"][0]["name"] = "Fresh lead"
    resp = a["api"].put(f"/api/v1/funnels/{funnel['id']}", json=edited)
    assert resp.status_code == 200, resp.text  # the outbox keeps the event; the request does not fail
    own_system.start("broker")
    wait_port(int(own_system.env["BROKER_PORT"]))
    found = collect(own_system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.pipeline.funnel.v1", ev.FunnelChanged,
                    lambda m: m.funnel.id == funnel["id"], timeout=60)
    assert found[0][1].funnel.groups[0].stages[0].name == "Fresh lead"
