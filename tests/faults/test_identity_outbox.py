"""Identity's events while the broker is down: the outbox keeps them and publishes them once it is back."""

from __future__ import annotations

import pytest

from crm.identity.events.v1 import identity_events_pb2 as ev
from tests.e2e.test_identity_events import _create_user
from tests.faults.history import History, one_each, read_topic
from tests.support.events import collect
from tests.support.infra import wait_port
from tests.support.system import Api, sign_up

pytestmark = pytest.mark.faults


def test_outbox_keeps_events_while_the_broker_is_down(own_system):
    api = Api(own_system.gateway_url())
    a = sign_up(api)
    own_system.stop("broker")
    user_ids = [_create_user(a["api"]) for _ in range(3)]  # every request still succeeds
    own_system.start("broker")
    wait_port(int(own_system.env["BROKER_PORT"]))
    bootstrap = own_system.env["KAFKA_BOOTSTRAP_SERVERS"]
    for uid in user_ids:
        assert collect(bootstrap, "crm.identity.user.v1", ev.UserCreated, lambda m, uid=uid: m.user_id == uid,
                       timeout=60)
    # the history checker: each user's UserCreated on the broker once (a repeat only as an exact redelivery)
    created = ev.UserCreated.DESCRIPTOR.full_name
    events = read_topic(bootstrap, ["crm.identity.user.v1"], {created: ev.UserCreated})
    History("broker down under identity").check_events(
        "UserCreated per user (broker)", {k: [e for e in v if e.event_type == created] for k, v in events.items()
                                          if k in user_ids}, one_each(user_ids, "created"), lambda e: "created")
    # the restarted broker had forgotten everything: events from before the outage are published again
    assert collect(bootstrap, "crm.identity.company.v1", ev.CompanyCreated,
                   lambda m: m.metadata.company_id == a["company"]["id"], timeout=60)
