"""Identity's events reach the broker, also when the broker was down while the change happened."""

from __future__ import annotations

import pytest

from crm.identity.events.v1 import identity_events_pb2 as ev
from tests.support.events import collect
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e


def _create_user(admin) -> str:
    roles = admin.get("/api/v1/roles").json()["items"]
    group = admin.get("/api/v1/groups").json()["items"][0]["id"]
    role = next(r["id"] for r in roles if not r["permissions"]["admin"])
    resp = admin.post("/api/v1/users", json={"first_name": "Eve", "last_name": "Ent", "email": unique_email(),
                                             "password": "pass-1234", "role_id": role, "group_id": group})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_user_created_event_is_consumed_from_the_broker(api, system):
    a = sign_up(api)
    user_id = _create_user(a["api"])
    found = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.identity.user.v1", ev.UserCreated,
                    lambda m: m.user_id == user_id)
    record, msg = found[0]
    assert record.key.decode() == user_id
    assert msg.metadata.company_id == a["company"]["id"]
    assert msg.metadata.actor_id == a["user"]["id"]
    assert msg.metadata.event_type == "crm.identity.events.v1.UserCreated"
    company = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.identity.company.v1", ev.CompanyCreated,
                      lambda m: m.metadata.company_id == a["company"]["id"])
    assert company[0][1].crm_id.replace("-", "") == a["company"]["crm_id"].replace("-", "")
