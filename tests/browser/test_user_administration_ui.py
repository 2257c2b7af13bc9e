"""User administration in a real browser against the whole system: Settings → Users and rights deactivates a
user (the confirmation says the seat is freed) and billing's seat count on the page goes down, reactivating
takes it up again, and a group still in use is refused with the server's error."""

from __future__ import annotations

import pytest

from tests.support.infra import wait_for
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e


def _seats_shown(browser) -> int:
    return int(browser.find("#seats-in-use").get_attribute("data-seats"))


def test_deactivating_and_reactivating_a_user_from_settings_moves_the_seat_count(browser, api):
    a = sign_up(api)  # a Russian company, the UI in Russian
    admin = a["api"]
    roles = admin.get("/api/v1/roles").json()["items"]
    role = next(r["id"] for r in roles if not r["permissions"]["admin"])
    email = unique_email("seat")
    resp = admin.post("/api/v1/users", json={"first_name": "Dilnoza", "last_name": "Rahimova", "email": email,
                                             "password": "pass-1234", "role_id": role,
                                             "group_id": a["user"]["group_id"]})
    assert resp.status_code == 201, resp.text
    wait_for(lambda: admin.get("/api/v1/billing").json()["active_users"] == 2, timeout=15,
             message="billing to count the new user")

    browser.log_in_as(a["tokens"])
    browser.open("/settings/users")
    row = f'#users-table tr[data-user="{email}"]'
    browser.find(row)
    browser.until(lambda: _seats_shown(browser) == 2, message="2 seats shown")
    browser.shot("users_admin_before")

    browser.click(f"{row} [data-action=deactivate-user]")
    text = browser.find("#confirm-text").text
    assert "Dilnoza Rahimova" in text and "место освободится" in text, text
    assert browser.find("#confirm-ok").text == "Деактивировать"
    browser.shot("users_admin_confirm_deactivate")
    browser.click("#confirm-ok")
    browser.text("#notice", "место освобождено")
    browser.gone(row)  # deactivated users are hidden until "show deactivated"
    browser.until(lambda: _seats_shown(browser) == 1, timeout=15, message="the seat count to drop to 1")
    assert "1" in browser.find("#seats-in-use").text
    browser.shot("users_admin_deactivated")
    assert admin.get("/api/v1/billing").json()["active_users"] == 1

    browser.click("#show-inactive")
    browser.find(f"{row} [data-inactive=true]")
    browser.click(f"{row} [data-action=reactivate-user]")
    browser.text("#notice", "снова активен")
    browser.until(lambda: _seats_shown(browser) == 2, timeout=15, message="the seat count to rise to 2")
    browser.shot("users_admin_reactivated")
    assert not browser.all(f"{row} [data-inactive=true]")

    # the group still holds both users: deleting it is refused with the server's message and count
    browser.click("#groups [data-action=delete-group]")
    browser.click("#confirm-ok")
    browser.text("#users-error [role=alert]", "В группе ещё есть пользователи: 2")
    browser.shot("users_admin_group_in_use")


def test_groups_and_roles_are_renamed_and_deleted_from_settings_with_the_servers_errors(browser, api):
    a = sign_up(api)
    admin = a["api"]
    role = admin.post("/api/v1/roles", json={"name": "Callers", "permissions": {"edit_phone": True}}).json()
    empty = admin.post("/api/v1/groups", json={"name": "Empty"}).json()
    email = unique_email("r")
    resp = admin.post("/api/v1/users", json={"first_name": "Jasur", "last_name": "Aliev", "email": email,
                                             "password": "pass-1234", "role_id": role["id"],
                                             "group_id": a["user"]["group_id"]})
    assert resp.status_code == 201, resp.text
    uid = resp.json()["id"]

    browser.log_in_as(a["tokens"])
    browser.open("/settings/users")
    # a role renamed, then refused deletion while a user holds it
    browser.click('#roles tr[data-role="Callers"] [data-action=rename-role]')
    browser.fill("#rename-role-dialog input[name=name]", "Callers East")
    browser.click("#rename-role-dialog #rename-submit")
    browser.gone("#rename-role-dialog")
    browser.click('#roles tr[data-role="Callers East"] [data-action=delete-role]')
    browser.click("#confirm-ok")
    browser.text("#roles-error [role=alert]", "Эта роль ещё назначена пользователям: 1")
    browser.shot("users_admin_role_in_use")
    assert any(r["name"] == "Callers East" for r in admin.get("/api/v1/roles").json()["items"])
    # the empty group renamed, then deleted
    browser.click('#groups [data-group="Empty"]')
    browser.click("#groups [data-action=rename-group]")
    browser.fill("#rename-group-dialog input[name=name]", "Empty East")
    browser.click("#rename-group-dialog #rename-submit")
    browser.find('#groups [data-group="Empty East"]')
    browser.click('#groups [data-group="Empty East"]')
    browser.click("#groups [data-action=delete-group]")
    browser.click("#confirm-ok")
    browser.gone('#groups [data-group="Empty East"]')
    assert empty["id"] not in {g["id"] for g in admin.get("/api/v1/groups").json()["items"]}
    # a user edited: names and e-mail, the server's field error shown on the field
    row = f'#users-table tr[data-user="{email}"]'
    browser.click('#groups [data-group="Основная"]')
    browser.click(f"{row} [data-action=edit-user]")
    browser.force("#edit-user-form input[name=last_name]", "x" * 31)  # past the input's maxLength of 30
    browser.click("#edit-user-submit")
    browser.find("#edit-user-form [data-field=last_name] .field-error")
    browser.fill("#edit-user-form input[name=last_name]", "Aliyev")
    new_email = unique_email("e")
    browser.fill("#edit-user-form input[name=email]", new_email)
    browser.click("#edit-user-submit")
    browser.gone("#edit-user-dialog")
    browser.text(f'#users-table tr[data-user="{new_email}"]', "Jasur Aliyev")
    user = admin.get(f"/api/v1/users/{uid}").json()
    assert (user["last_name"], user["email"]) == ("Aliyev", new_email)
    browser.shot("users_admin_edited")
