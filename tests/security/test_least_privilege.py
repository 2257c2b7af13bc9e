"""Least privilege through the public API and identity's gRPC port: user and role managers cannot raise
anyone above themselves, a demoted administrator loses the rights within the session check, one's own
password changes only with the current one (ending the other sessions), new passwords are 8-30
characters and not common, and identity limits logins itself, whoever calls it."""

from __future__ import annotations

import math
import time
import uuid

import grpc
import pytest

from crm.identity.v1 import identity_service_pb2 as ipb
from crm.identity.v1 import identity_service_pb2_grpc as igrpc
from crm_platform.errors import decode_error
from tests.support.crm import funnel, stages
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e

PW = "pass-1234"


def _roles(admin) -> dict:
    return {r["name"]: r for r in admin.get("/api/v1/roles").json()["items"]}


def _member(api, admin, role_id: str) -> dict:
    """A new user of the admin's company in `role_id`, logged in: id, e-mail, tokens, api."""
    group = admin.get("/api/v1/groups").json()["items"][0]["id"]
    email = unique_email("lp")
    created = admin.post("/api/v1/users", json={"first_name": "Lea", "last_name": "Pri", "email": email,
                                                "password": PW, "role_id": role_id, "group_id": group})
    assert created.status_code == 201, created.text
    tokens = api.post("/api/v1/auth/login", json={"email": email, "password": PW}).json()
    return {"id": created.json()["id"], "email": email, "tokens": tokens, "group": group,
            "api": api.as_user(tokens["access_token"])}


def _refused(resp, code: str = "forbidden", status: int = 403) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code, resp.text


def test_a_user_manager_is_refused_every_escalation(api):
    a = sign_up(api, language="en")  # the test names the English roles
    admin = a["api"]
    ums = admin.post("/api/v1/roles", json={"name": "User managers", "permissions": {"manage_users": True}}).json()
    payers = admin.post("/api/v1/roles", json={"name": "Payers", "permissions": {"manage_billing": True}}).json()
    um = _member(api, admin, ums["id"])
    roles = _roles(admin)
    admin_role = roles["Administrator"]["id"]
    new = {"first_name": "Eve", "last_name": "Il", "password": PW, "group_id": um["group"]}
    users_before = admin.get("/api/v1/users").json()["items"]
    # an administrator, or a user with rights the manager lacks, created
    _refused(um["api"].post("/api/v1/users", json={**new, "email": unique_email(), "role_id": admin_role}))
    _refused(um["api"].post("/api/v1/users", json={**new, "email": unique_email(), "role_id": payers["id"]}))
    # the admin role, or a role with more rights, given to themselves
    _refused(um["api"].patch(f"/api/v1/users/{um['id']}", json={"role_id": admin_role}))
    _refused(um["api"].patch(f"/api/v1/users/{um['id']}", json={"role_id": payers["id"]}))
    # an administrator's password, e-mail or role changed, or the administrator deactivated
    for change in ({"password": "taken-over-1"}, {"email": unique_email("evil")}, {"role_id": ums["id"]}):
        _refused(um["api"].patch(f"/api/v1/users/{a['user']['id']}", json=change))
    _refused(um["api"].delete(f"/api/v1/users/{a['user']['id']}"))
    # nothing changed: the same users, the admin logs in with the old password
    assert admin.get("/api/v1/users").json()["items"] == users_before
    assert api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": PW}).status_code == 200
    me = um["api"].get("/api/v1/me").json()
    assert me["role"]["id"] == ums["id"]
    # within their rights they manage users
    plain = admin.post("/api/v1/roles", json={"name": "Plain", "permissions": {}}).json()
    made = um["api"].post("/api/v1/users", json={**new, "email": unique_email(), "role_id": plain["id"]})
    assert made.status_code == 201, made.text


def test_a_role_manager_is_refused_every_escalation(api):
    a = sign_up(api, language="en")  # the test names the English roles
    admin = a["api"]
    rms = admin.post("/api/v1/roles", json={"name": "Role managers",
                                            "permissions": {"manage_roles": True, "edit_phone": True}}).json()
    rm = _member(api, admin, rms["id"])
    payers = admin.post("/api/v1/roles", json={"name": "Payers", "permissions": {"manage_billing": True}}).json()
    roles_before = admin.get("/api/v1/roles").json()["items"]
    # admin, or a right they lack, granted to their own role
    _refused(rm["api"].patch(f"/api/v1/roles/{rms['id']}", json={"permissions": {"admin": True}}))
    _refused(rm["api"].patch(f"/api/v1/roles/{rms['id']}", json={"permissions": {
        "manage_roles": True, "edit_phone": True, "manage_users": True}}))
    # a new role with admin or a right they lack
    _refused(rm["api"].post("/api/v1/roles", json={"name": "Boss", "permissions": {"admin": True}}))
    _refused(rm["api"].post("/api/v1/roles", json={"name": "Payers 2", "permissions": {"manage_billing": True}}))
    # a right they lack taken from another role, the administrator role touched
    _refused(rm["api"].patch(f"/api/v1/roles/{payers['id']}", json={"permissions": {}}))
    admin_role = _roles(admin)["Administrator"]["id"]
    _refused(rm["api"].patch(f"/api/v1/roles/{admin_role}", json={"permissions": {"edit_phone": True}}))
    assert admin.get("/api/v1/roles").json()["items"] == roles_before
    assert not rm["api"].get("/api/v1/me").json()["role"]["permissions"]["admin"]
    # rights they hold they may give
    ok = rm["api"].post("/api/v1/roles", json={"name": "Callers", "permissions": {"edit_phone": True}})
    assert ok.status_code == 201, ok.text


def test_a_demoted_admin_is_refused_within_the_session_check(api):
    a = sign_up(api, language="en")  # the test names the English roles
    admin = a["api"]
    other = _member(api, admin, _roles(admin)["Administrator"]["id"])
    stage = stages(funnel(admin, "deal"))[0]["id"]
    rules = admin.get(f"/api/v1/stages/{stage}/rules").json()

    def admin_action():  # pipeline's own check trusts the token's rights: only the session check refuses
        return other["api"].put(f"/api/v1/stages/{stage}/rules", json=rules)

    assert admin_action().status_code == 200  # the session is live and remembered by the gateway
    manager = _roles(admin)["Manager"]["id"]
    assert admin.patch(f"/api/v1/users/{other['id']}", json={"role_id": manager}).status_code == 200
    demoted = time.monotonic()
    # identity acts on the rights as stored at once, whatever the token says (403), or the session check
    # has already refused the token (401)
    grab = other["api"].post("/api/v1/roles", json={"name": "Mine", "permissions": {"admin": True}})
    assert (grab.status_code, grab.json()["error"]["code"]) in ((403, "forbidden"), (401, "rights_changed"))
    while True:
        resp = admin_action()
        elapsed = time.monotonic() - demoted
        if resp.status_code != 200 or elapsed > 5:
            break
        time.sleep(0.05)
    print(f"demoted admin refused after {elapsed:.2f} s")
    _refused(resp, "rights_changed", 401)
    assert elapsed <= 2.5
    # a refresh gives a token with the current rights: the admin action is now 403
    fresh = api.post("/api/v1/auth/refresh", json={"refresh_token": other["tokens"]["refresh_token"]}).json()
    client = api.as_user(fresh["access_token"])
    assert client.get("/api/v1/me").json()["role"]["id"] == manager
    _refused(client.put(f"/api/v1/stages/{stage}/rules", json=rules))
    # a role's permission taken away: its holder's old token is refused too
    helpers = admin.post("/api/v1/roles", json={"name": "Funnel keepers",
                                                "permissions": {"manage_funnels": True}}).json()
    keeper = _member(api, admin, helpers["id"])
    assert keeper["api"].put(f"/api/v1/stages/{stage}/rules", json=rules).status_code == 200
    assert admin.patch(f"/api/v1/roles/{helpers['id']}", json={"permissions": {}}).status_code == 200
    time.sleep(1.1)
    _refused(keeper["api"].put(f"/api/v1/stages/{stage}/rules", json=rules), "rights_changed", 401)


def test_own_password_change_needs_the_current_password_and_ends_the_other_sessions(api):
    a = sign_up(api)
    me = a["user"]["id"]
    first = a["api"]
    second = api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": PW}).json()
    _refused(first.patch(f"/api/v1/users/{me}", json={"password": "next-pass-1"}), "current_password_invalid")
    _refused(first.patch(f"/api/v1/users/{me}", json={"password": "next-pass-1", "current_password": "wrong-pass"}),
             "current_password_invalid")
    _refused(first.patch(f"/api/v1/users/{me}", json={"email": unique_email("moved")}), "current_password_invalid")
    assert api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": PW}).status_code == 200
    changed = first.patch(f"/api/v1/users/{me}", json={"password": "next-pass-1", "current_password": PW})
    assert changed.status_code == 200, changed.text
    time.sleep(1.1)  # the gateway trusts a live token for at most a second
    assert first.get("/api/v1/me").status_code == 200  # the session that changed it goes on
    _refused(api.as_user(second["access_token"]).get("/api/v1/me"), "session_ended", 401)
    _refused(api.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}), "refresh_invalid", 401)
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": a["tokens"]["refresh_token"]}).status_code == 200
    assert api.post("/api/v1/auth/login", json={"email": a["user"]["email"],
                                                "password": "next-pass-1"}).status_code == 200


@pytest.mark.parametrize("password, code", [("seven77", "too_short"), ("qwerty123", "password_common"),
                                            ("Password1", "password_common"), ("1q2w3e4r5t", "password_common")])
def test_short_and_common_passwords_are_refused(api, password, code):
    a = sign_up(api, language="en")  # the test names the English roles
    admin = a["api"]
    manager = _roles(admin)["Manager"]["id"]
    group = admin.get("/api/v1/groups").json()["items"][0]["id"]
    attempts = {
        "sign-up": api.post("/api/v1/signup", json={"company_name": "Co", "first_name": "A", "last_name": "B",
                                                    "email": unique_email(), "password": password}),
        "new user": admin.post("/api/v1/users", json={"first_name": "A", "last_name": "B", "email": unique_email(),
                                                      "password": password, "role_id": manager, "group_id": group}),
        "own change": admin.patch(f"/api/v1/users/{a['user']['id']}",
                                  json={"password": password, "current_password": PW}),
        "reset": api.post("/api/v1/auth/password/reset", json={"token": uuid.uuid4().hex, "password": password}),
    }
    for name, resp in attempts.items():
        assert resp.status_code == 422, (name, resp.text)
        fields = resp.json()["error"]["details"]["fields"]
        assert [(f["field"], f["code"]) for f in fields] == [("password", code)], (name, fields)
    assert api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": PW}).status_code == 200


def test_identity_limits_a_burst_of_logins_sent_straight_to_its_grpc_port(system, api):
    a = sign_up(api)
    email = a["user"]["email"]
    channel = grpc.insecure_channel(system.env["IDENTITY_GRPC_ADDR"])
    auth = igrpc.AuthServiceStub(channel)
    answers = []
    started = time.monotonic()
    try:
        for _ in range(40):
            try:
                auth.Login(ipb.LoginRequest(email=email, password="guess-1234"), timeout=10)
                answers.append(("ok", None))
            except grpc.RpcError as exc:
                body = decode_error(exc.trailing_metadata())
                answers.append((body["code"], body))
                if body["code"] == "rate_limited":
                    break
    finally:
        channel.close()
    took = time.monotonic() - started
    codes = [c for c, _ in answers]
    print(f"identity refused login attempt {len(codes)} straight over gRPC ({took:.1f} s)")
    assert codes[-1] == "rate_limited" and set(codes[:-1]) == {"invalid_credentials"}, codes
    # a burst of 20, refilled at 20 a minute while the attempts ran (each is an argon2 hash: seconds on a
    # loaded machine), then the refusal
    assert len(codes) <= 20 + math.floor(took * 20 / 60) + 1, (len(codes), took)
    assert answers[-1][1]["details"]["retry_after"] >= 1
    # the account is held through the gateway too (a fresh gateway bucket, identity's own answer)
    resp = api.post("/api/v1/auth/login", json={"email": email, "password": PW})
    _refused(resp, "rate_limited", 429)
    assert int(resp.headers["Retry-After"]) >= 1
