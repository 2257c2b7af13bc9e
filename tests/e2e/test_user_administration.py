"""User administration end to end over HTTP, against the real processes (identity, its outbox relay, the broker,
billing's consumer): deactivating a user frees a seat in billing within seconds and reactivating takes it again,
refused reactivations change nothing, and groups and roles in use answer 409 with how many users."""

from __future__ import annotations

import time

import pytest

from tests.support.infra import wait_for
from tests.support.system import Api, sign_up, unique_email

pytestmark = pytest.mark.e2e

SECONDS = 10  # "within seconds": identity's relay and billing's consumer together


def _seats(admin: Api) -> int:
    resp = admin.get("/api/v1/billing")
    assert resp.status_code == 200, resp.text
    return resp.json()["active_users"]


def _counted(admin: Api, users: int) -> float:
    """Wait until billing counts `users` active users; the seconds it took."""
    start = time.monotonic()
    wait_for(lambda: _seats(admin) == users, timeout=SECONDS, message=f"billing to count {users} active users")
    return time.monotonic() - start


def _user(api: Api, admin: Api, role_id: str, group_id: str) -> tuple[str, str]:
    email = unique_email("ua")
    resp = admin.post("/api/v1/users", json={"first_name": "Eve", "last_name": "Ent", "email": email,
                                             "password": "pass-1234", "role_id": role_id, "group_id": group_id})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], email


def _login(api: Api, email: str):
    return api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"})


def _roles(admin: Api) -> dict[str, dict]:
    return {r["name"]: r for r in admin.get("/api/v1/roles").json()["items"]}


def test_deactivating_frees_a_seat_within_seconds_and_reactivating_takes_it_again(api):
    a = sign_up(api, language="en")
    admin = a["api"]
    manager_role = next(r["id"] for r in _roles(admin).values() if not r["permissions"]["admin"])
    uid, email = _user(api, admin, manager_role, a["user"]["group_id"])
    _counted(admin, 2)

    resp = admin.delete(f"/api/v1/users/{uid}")
    assert resp.status_code == 200 and resp.json()["active"] is False, resp.text
    assert _counted(admin, 1) < SECONDS
    assert _login(api, email).status_code == 401
    listed = {u["id"]: u["active"] for u in admin.get("/api/v1/users?include_inactive=true").json()["items"]}
    assert listed[uid] is False

    resp = admin.post(f"/api/v1/users/{uid}/activate")
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == uid and resp.json()["active"] is True
    assert _counted(admin, 2) < SECONDS
    assert _login(api, email).status_code == 200
    # idempotent: once more changes nothing (a user created after it is the third seat, not the fourth)
    again = admin.post(f"/api/v1/users/{uid}/activate")
    assert again.status_code == 200 and again.json()["active"] is True
    _user(api, admin, manager_role, a["user"]["group_id"])
    _counted(admin, 3)
    time.sleep(1)
    assert _seats(admin) == 3


def test_refused_reactivations_change_nothing(api):
    a = sign_up(api, language="en")
    admin = a["api"]
    group = a["user"]["group_id"]
    roles = _roles(admin)
    user_managers = admin.post("/api/v1/roles", json={"name": "User managers",
                                                      "permissions": {"manage_users": True}}).json()["id"]
    plain = admin.post("/api/v1/roles", json={"name": "Plain", "permissions": {}}).json()["id"]
    _, manager_email = _user(api, admin, user_managers, group)
    _, plain_email = _user(api, admin, plain, group)
    manager = api.as_user(_login(api, manager_email).json()["access_token"])
    nobody = api.as_user(_login(api, plain_email).json()["access_token"])
    other_admin, other_email = _user(api, admin, roles["Administrator"]["id"], group)
    target, target_email = _user(api, admin, plain, group)
    for uid in (other_admin, target):
        assert admin.delete(f"/api/v1/users/{uid}").status_code == 200
    _counted(admin, 3)  # the admin, the manager, the plain user; the two deactivated ones not

    # a user manager cannot bring an administrator back; a user without manage_users nobody
    resp = manager.post(f"/api/v1/users/{other_admin}/activate")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden", resp.text
    assert resp.json()["error"]["details"]["permission"] == "admin"
    resp = nobody.post(f"/api/v1/users/{target}/activate")
    assert resp.status_code == 403 and resp.json()["error"]["details"]["permission"] == "manage_users", resp.text
    # another company's administrator: the same 404 as an id nobody has
    b = sign_up(api, language="en")
    for path in (f"/api/v1/users/{target}/activate", "/api/v1/users/00000000-0000-4000-8000-000000000000/activate"):
        resp = b["api"].post(path)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "user_not_found", resp.text
    # nothing changed: both still deactivated, no seat taken, no login
    time.sleep(1.5)
    assert _seats(admin) == 3
    listed = {u["id"]: u["active"] for u in admin.get("/api/v1/users?include_inactive=true").json()["items"]}
    assert listed[other_admin] is False and listed[target] is False
    for email in (other_email, target_email):
        assert _login(api, email).status_code == 401
    # within their rights the user manager does it
    resp = manager.post(f"/api/v1/users/{target}/activate")
    assert resp.status_code == 200 and resp.json()["active"] is True, resp.text
    _counted(admin, 4)


def test_groups_and_roles_in_use_answer_409_with_the_number_of_users(api):
    a = sign_up(api, language="ru")
    admin = a["api"]
    ru = Api(admin.base, admin.token, lang="ru")
    group = admin.post("/api/v1/groups", json={"name": "Sales"}).json()
    role = admin.post("/api/v1/roles", json={"name": "Callers", "permissions": {"edit_phone": True}}).json()
    first, _ = _user(api, admin, role["id"], group["id"])
    second, _ = _user(api, admin, role["id"], group["id"])
    assert admin.delete(f"/api/v1/users/{second}").status_code == 200

    renamed = admin.patch(f"/api/v1/groups/{group['id']}", json={"name": "Sales East"})
    assert renamed.status_code == 200 and renamed.json() == {"id": group["id"], "name": "Sales East", "user_count": 1}
    assert admin.patch(f"/api/v1/roles/{role['id']}", json={"name": "Callers East"}).json()["name"] == "Callers East"

    resp = ru.delete(f"/api/v1/groups/{group['id']}")
    assert resp.status_code == 409, resp.text
    error = resp.json()["error"]
    assert error["code"] == "group_not_empty" and error["details"]["users"] == 2
    assert error["message"] == "В группе ещё есть пользователи: 2. Сначала переведите их в другую группу."
    resp = admin.delete(f"/api/v1/roles/{role['id']}")
    assert resp.status_code == 409, resp.text
    error = resp.json()["error"]
    assert error["code"] == "role_in_use" and error["details"]["users"] == 2
    assert error["message"] == "Users still have this role: 2. Give them another role first."
    resp = admin.delete(f"/api/v1/roles/{_roles(admin)['Администратор']['id']}")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "role_protected", resp.text

    manager_role = next(r["id"] for r in _roles(admin).values() if not r["permissions"]["admin"]
                        and r["id"] != role["id"])
    for uid in (first, second):
        moved = admin.patch(f"/api/v1/users/{uid}", json={"group_id": a["user"]["group_id"], "role_id": manager_role})
        assert moved.status_code == 200, moved.text
    assert admin.delete(f"/api/v1/groups/{group['id']}").status_code == 204
    assert admin.delete(f"/api/v1/roles/{role['id']}").status_code == 204
    assert admin.delete(f"/api/v1/groups/{group['id']}").json()["error"]["code"] == "group_not_found"
