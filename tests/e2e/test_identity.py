"""Identity end to end through the gateway: sign-up, CRM ID, login, tokens, users, reset by e-mail."""

from __future__ import annotations

import pathlib
import re
import time
import uuid

import pytest

from tests.support.infra import read_mails, wait_for
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e

CRM_ID = re.compile(r"^[23456789BCDFGHJKMNPQRSTVWXZ]{4}-[23456789BCDFGHJKMNPQRSTVWXZ]{4}$")


def test_signup_creates_company_with_readable_crm_id_shown_in_me(api):
    a = sign_up(api)
    crm_id = a["company"]["crm_id"]
    assert CRM_ID.match(crm_id)
    me = a["api"].get("/api/v1/me")
    assert me.status_code == 200
    body = me.json()
    assert body["company"]["crm_id"] == crm_id
    assert body["user"]["email"] == a["user"]["email"]
    assert body["role"]["permissions"]["admin"] is True
    assert body["role"]["permissions"]["edit_phone"] is True


def test_crm_ids_differ_between_companies_and_are_shared_by_users(api):
    a, b = sign_up(api), sign_up(api)
    assert a["company"]["crm_id"] != b["company"]["crm_id"]
    roles = a["api"].get("/api/v1/roles").json()["items"]
    groups = a["api"].get("/api/v1/groups").json()["items"]
    manager = next(r for r in roles if not r["permissions"]["admin"])
    email = unique_email()
    created = a["api"].post("/api/v1/users", json={"first_name": "Olga", "last_name": "Li", "email": email,
                                                    "password": "pass-1234", "role_id": manager["id"],
                                                    "group_id": groups[0]["id"]})
    assert created.status_code == 201, created.text
    tokens = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()
    me = api.as_user(tokens["access_token"]).get("/api/v1/me").json()
    assert me["company"]["crm_id"] == a["company"]["crm_id"]
    assert me["role"]["permissions"]["admin"] is False


def test_login_with_email_in_two_crms_asks_for_the_crm_id(api):
    email = unique_email("both")
    a = sign_up(api, email=email, password="same-pass-1")
    b = sign_up(api, email=email, password="same-pass-1")
    resp = api.post("/api/v1/auth/login", json={"email": email, "password": "same-pass-1"})
    assert resp.status_code == 409
    err = resp.json()["error"]
    assert err["code"] == "crm_id_required"
    assert {c["crm_id"] for c in err["details"]["choices"]} == {a["company"]["crm_id"], b["company"]["crm_id"]}
    for company in (a, b):
        ok = api.post("/api/v1/auth/login", json={"email": email, "password": "same-pass-1",
                                                  "crm_id": company["company"]["crm_id"].lower()})
        assert ok.status_code == 200
        me = api.as_user(ok.json()["access_token"]).get("/api/v1/me").json()
        assert me["company"]["id"] == company["company"]["id"]


def test_wrong_password_is_401_and_same_for_unknown_email(api):
    a = sign_up(api)
    wrong = api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": "nope"})
    unknown = api.post("/api/v1/auth/login", json={"email": unique_email(), "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "invalid_credentials"


def test_access_token_lives_at_most_15_minutes(api):
    import jwt

    a = sign_up(api)
    claims = jwt.decode(a["tokens"]["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert a["tokens"]["expires_in"] <= 900


def test_refresh_rotates_and_reuse_revokes_the_family(api):
    a = sign_up(api)
    first = a["tokens"]["refresh_token"]
    rotated = api.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    reuse = api.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert reuse.status_code == 401
    # the theft is detected: the legitimate newer token of the same family is revoked too
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": second}).status_code == 401


def test_logout_revokes_the_refresh_token(api):
    a = sign_up(api)
    refresh = a["tokens"]["refresh_token"]
    assert api.post("/api/v1/auth/logout", json={"refresh_token": refresh}).status_code == 204
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401


def test_requests_without_or_with_bad_token_are_401(api):
    assert api.get("/api/v1/me").status_code == 401
    bad = api.as_user("not.a.token").get("/api/v1/me")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "token_invalid"


def _roles_groups(admin_api):
    roles = admin_api.get("/api/v1/roles").json()["items"]
    groups = admin_api.get("/api/v1/groups").json()["items"]
    return {("admin" if r["permissions"]["admin"] else "manager"): r["id"] for r in roles}, groups[0]["id"]


def test_create_user_is_admin_only(api):
    a = sign_up(api)
    roles, group = _roles_groups(a["api"])
    email = unique_email()
    assert a["api"].post("/api/v1/users", json={"first_name": "M", "last_name": "N", "email": email,
                                                "password": "pass-1234", "role_id": roles["manager"],
                                                "group_id": group}).status_code == 201
    manager = api.as_user(api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"})
                          .json()["access_token"])
    before = len(a["api"].get("/api/v1/users").json()["items"])
    resp = manager.post("/api/v1/users", json={"first_name": "X", "last_name": "Y", "email": unique_email(),
                                               "password": "pass-1234", "role_id": roles["manager"], "group_id": group})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    assert len(a["api"].get("/api/v1/users").json()["items"]) == before


@pytest.mark.parametrize("field", ["first_name", "last_name", "email", "password"])
def test_user_fields_are_limited_to_30_characters(api, field):
    a = sign_up(api)
    roles, group = _roles_groups(a["api"])
    body = {"first_name": "A", "last_name": "B", "email": unique_email(), "password": "pass-1234",
            "role_id": roles["manager"], "group_id": group}
    body[field] = ("x" * 25 + "@t.uz" + "x") if field == "email" else "y" * 31
    resp = a["api"].post("/api/v1/users", json=body)
    assert resp.status_code == 422
    fields = resp.json()["error"]["details"]["fields"]
    assert [f["field"] for f in fields] == [field]
    assert fields[0]["code"] == "too_long"
    body[field] = ("x" * 25 + "@t.uz") if field == "email" else "y" * 30
    assert a["api"].post("/api/v1/users", json=body).status_code == 201


def test_user_field_errors_name_each_field_in_russian(api):
    a = sign_up(api)
    a["api"].lang = "ru"
    roles, group = _roles_groups(a["api"])
    resp = a["api"].post("/api/v1/users", json={"first_name": "", "last_name": "B", "email": "not-an-email",
                                                 "password": "pass-1234", "role_id": roles["manager"], "group_id": group})
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["message"] == "Некоторые поля заполнены неверно."
    by_field = {f["field"]: f for f in err["details"]["fields"]}
    assert set(by_field) == {"first_name", "email"}
    assert by_field["first_name"]["message"] == "Это поле обязательно."
    assert by_field["email"]["code"] == "invalid_email"


def test_duplicate_email_in_the_same_crm_is_409_in_both_languages(api):
    a = sign_up(api)
    roles, group = _roles_groups(a["api"])
    body = {"first_name": "A", "last_name": "B", "email": unique_email(), "password": "pass-1234",
            "role_id": roles["manager"], "group_id": group}
    assert a["api"].post("/api/v1/users", json=body).status_code == 201
    again = a["api"].post("/api/v1/users", json={**body, "email": body["email"].upper()})
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "User with this email already exists"
    ru = a["api"].post("/api/v1/users", json=body, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert ru.json()["error"]["message"] == "Пользователь с такой почтой уже существует"
    # the same e-mail in another CRM is fine
    b = sign_up(api)
    roles_b, group_b = _roles_groups(b["api"])
    assert b["api"].post("/api/v1/users", json={**body, "role_id": roles_b["manager"],
                                                "group_id": group_b}).status_code == 201


def test_ids_of_another_company_are_404(api):
    a, b = sign_up(api), sign_up(api)
    assert b["api"].get(f"/api/v1/users/{a['user']['id']}").status_code == 404
    roles_a, group_a = _roles_groups(a["api"])
    roles_b, group_b = _roles_groups(b["api"])
    resp = b["api"].post("/api/v1/users", json={"first_name": "A", "last_name": "B", "email": unique_email(),
                                                "password": "pass-1234", "role_id": roles_a["manager"],
                                                "group_id": group_b})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"]["fields"][0] == {
        "field": "role_id", "code": "unknown_reference", "message": "No such object in your company."}
    assert b["api"].patch(f"/api/v1/groups/{group_a}", json={"name": "x"}).status_code == 404


def test_groups_and_roles_crud(api):
    a = sign_up(api)
    g = a["api"].post("/api/v1/groups", json={"name": "Sales"})
    assert g.status_code == 201
    gid = g.json()["id"]
    assert a["api"].patch(f"/api/v1/groups/{gid}", json={"name": "Sales team"}).json()["name"] == "Sales team"
    r = a["api"].post("/api/v1/roles", json={"name": "Caller", "permissions": {"edit_phone": False}})
    assert r.status_code == 201
    rid = r.json()["id"]
    upd = a["api"].patch(f"/api/v1/roles/{rid}", json={"permissions": {"edit_phone": True}})
    assert upd.json()["permissions"]["edit_phone"] is True
    user = a["api"].post("/api/v1/users", json={"first_name": "A", "last_name": "B", "email": unique_email(),
                                                "password": "pass-1234", "role_id": rid, "group_id": gid})
    assert user.status_code == 201
    assert a["api"].delete(f"/api/v1/groups/{gid}").status_code == 409
    assert a["api"].delete(f"/api/v1/roles/{rid}").json()["error"]["code"] == "role_in_use"
    assert a["api"].delete(f"/api/v1/users/{user.json()['id']}").json()["active"] is False
    admin_role = next(x for x in a["api"].get("/api/v1/roles").json()["items"] if x["system"])
    assert a["api"].delete(f"/api/v1/roles/{admin_role['id']}").status_code == 409


def test_deactivated_user_cannot_log_in_or_refresh(api):
    a = sign_up(api)
    roles, group = _roles_groups(a["api"])
    email = unique_email()
    uid = a["api"].post("/api/v1/users", json={"first_name": "A", "last_name": "B", "email": email,
                                               "password": "pass-1234", "role_id": roles["manager"],
                                               "group_id": group}).json()["id"]
    tokens = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()
    assert a["api"].delete(f"/api/v1/users/{uid}").status_code == 200
    assert api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).status_code == 401
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def _mail_to(system, address: str):
    folder = pathlib.Path(system.env["MAIL_DIR"])
    return [m for m in read_mails(folder) if m["To"] == address]


def test_password_reset_by_email_link(api, system):
    a = sign_up(api)
    email = a["user"]["email"]
    old_refresh = a["tokens"]["refresh_token"]
    resp = api.post("/api/v1/auth/password/forgot", json={"email": email}, headers={"Accept-Language": "ru"})
    assert resp.status_code == 202
    mails = wait_for(lambda: _mail_to(system, email), timeout=15, message="the reset e-mail")
    body = mails[-1].get_content()
    assert mails[-1]["Subject"] == "Смена пароля в CRM"
    link = re.search(r"(http://\S+/reset#token=(\S+))", body)
    assert link and link.group(1).startswith(system.env["PUBLIC_URL"])
    token = link.group(2)
    too_long = api.post("/api/v1/auth/password/reset", json={"token": token, "password": "p" * 31})
    assert too_long.status_code == 422
    assert api.post("/api/v1/auth/password/reset", json={"token": token, "password": "new-pass-1"}).status_code == 204
    # single use
    again = api.post("/api/v1/auth/password/reset", json={"token": token, "password": "other-pass"})
    assert again.status_code == 422 and again.json()["error"]["code"] == "reset_token_invalid"
    assert api.post("/api/v1/auth/login", json={"email": email, "password": a["password"]}).status_code == 401
    assert api.post("/api/v1/auth/login", json={"email": email, "password": "new-pass-1"}).status_code == 200
    # every refresh token of the user was revoked
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh}).status_code == 401


def test_forgot_answers_the_same_for_unknown_email(api, system):
    a = sign_up(api)
    known = api.post("/api/v1/auth/password/forgot", json={"email": a["user"]["email"]})
    unknown_email = unique_email("ghost")
    unknown = api.post("/api/v1/auth/password/forgot", json={"email": unknown_email})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    wait_for(lambda: _mail_to(system, a["user"]["email"]), timeout=15)
    time.sleep(0.5)
    assert _mail_to(system, unknown_email) == []


def test_invalid_reset_token_is_refused(api):
    resp = api.post("/api/v1/auth/password/reset", json={"token": uuid.uuid4().hex, "password": "next-pass-1"})
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "reset_token_invalid"


def test_login_is_rate_limited_per_account(api):
    email = unique_email("rl")
    codes = [api.post("/api/v1/auth/login", json={"email": email, "password": "x"}) for _ in range(12)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate_limited"


def test_forgot_is_rate_limited_per_account(api):
    email = unique_email("rf")
    codes = [api.post("/api/v1/auth/password/forgot", json={"email": email}).status_code for _ in range(5)]
    assert 429 in codes and codes[0] == 202


def test_tokens_of_a_deactivated_user_stop_working_at_once(api):
    a = sign_up(api)
    roles, group = _roles_groups(a["api"])
    email = unique_email()
    uid = a["api"].post("/api/v1/users", json={"first_name": "A", "last_name": "B", "email": email,
                                               "password": "pass-1234", "role_id": roles["manager"],
                                               "group_id": group}).json()["id"]
    user = api.as_user(api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()["access_token"])
    assert user.get("/api/v1/me").status_code == 200
    assert a["api"].delete(f"/api/v1/users/{uid}").status_code == 200
    time.sleep(1.1)  # the gateway trusts a live session for at most GATEWAY_SESSION_CHECK_SECONDS (1 s)
    resp = user.get("/api/v1/me")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "session_ended"


def test_logout_ends_the_access_token_too(api):
    a = sign_up(api)
    assert a["api"].get("/api/v1/me").status_code == 200
    api.post("/api/v1/auth/logout", json={"refresh_token": a["tokens"]["refresh_token"]})
    time.sleep(1.1)
    assert a["api"].get("/api/v1/me").status_code == 401
