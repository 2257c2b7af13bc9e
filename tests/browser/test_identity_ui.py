"""The identity screens in a real browser: login (with the CRM ID choice), the user menu's CRM ID,
users and rights (create a user, the 30-character error), one's own password (the current one asked for),
forgot/reset password from the e-mail."""

from __future__ import annotations

import pathlib
import re

import pytest
import requests

from tests.support.infra import read_mails, wait_for
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e


def test_ui_is_served_with_hashed_assets_and_security_headers(system):
    base = system.gateway_url()
    for path in ("/", "/login", "/reset", "/settings/users", "/deals/some-id"):
        page = requests.get(base + path, timeout=10)
        assert page.status_code == 200, path
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Cache-Control"] == "no-cache"
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "<script>" not in page.text  # no inline script
    html = requests.get(base + "/", timeout=10).text
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert re.search(r"-[A-Za-z0-9_-]{8,}\.(js|css)$", asset), asset  # content hash in the name
        resp = requests.get(base + asset, timeout=10)
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(base + "/assets/index-missing.js", timeout=10).status_code == 404
    # the API keeps its own answers next to the UI routes
    missing = requests.get(base + "/api/v1/nothing-here", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_login_and_crm_id_in_the_user_menu(browser, api):
    a = sign_up(api)
    browser.open("/login")
    browser.shot("login")
    assert browser.find("#login-page h1").text == "Вход в CRM"  # Russian by default
    browser.fill("#login-form input[name=email]", a["user"]["email"])
    browser.fill("#login-form input[name=password]", "wrong-password")
    browser.click("#login-submit")
    browser.find("#login-page [role=alert]")
    browser.fill("#login-form input[name=password]", a["password"])
    browser.click("#login-submit")
    browser.click("#user-menu-button")
    crm_id = browser.find("#crm-id").text
    assert crm_id == a["company"]["crm_id"]
    browser.find("#copy-crm-id")
    browser.shot("user_menu")
    browser.click("#user-menu [data-lang=en]")
    browser.text("#logout", "Log out")
    browser.click("#logout")
    browser.find("#login-page")
    assert browser.find("#login-page h1").text == "Log in to the CRM"
    assert browser.driver.execute_script("return sessionStorage.getItem('crm.tokens')") is None


def test_the_login_page_and_the_api_errors_speak_uzbek(browser):
    from crm_gateway.messages import error_text

    browser.open("/login")
    browser.click("#login-page [data-lang=uz]")
    assert browser.find("#login-page h1").text == "CRM tizimiga kirish"
    browser.fill("#login-form input[name=email]", unique_email("nobody"))
    browser.fill("#login-form input[name=password]", "wrong-password")
    browser.click("#login-submit")
    # the gateway answered in the language the page sent (Accept-Language: uz)
    assert browser.find("#login-page [role=alert]").text == error_text("invalid_credentials", "uz")
    browser.shot("login_uz")


def test_login_with_an_email_in_two_crms_asks_which_crm(browser, api):
    email = unique_email("two")
    a = sign_up(api, email=email, password="same-pass-1")
    b = sign_up(api, email=email, password="same-pass-1")
    browser.open("/login")
    browser.fill("#login-form input[name=email]", email)
    browser.fill("#login-form input[name=password]", "same-pass-1")
    browser.click("#login-submit")
    choices = browser.find("#crm-choices")
    assert a["company"]["crm_id"] in choices.text and b["company"]["crm_id"] in choices.text
    browser.shot("login_crm_choice")
    browser.click(f"#crm-choices input[value='{b['company']['crm_id']}']")
    browser.click("#login-submit")
    browser.click("#user-menu-button")
    assert browser.find("#crm-id").text == b["company"]["crm_id"]


def test_create_user_in_settings_shows_field_errors(browser, api):
    a = sign_up(api)
    browser.log_in_as(a["tokens"])
    browser.open("/settings/users")
    browser.find("#users-table")
    browser.click("#create-user")
    form = "#create-user-form"
    # the FAQ's 30 characters: the input takes no 31st; past it (by script) the server's own check answers
    assert browser.fill(f"{form} input[name=first_name]", "Ф" * 31).get_attribute("value") == "Ф" * 30
    browser.force(f"{form} input[name=first_name]", "Ф" * 31)
    browser.fill(f"{form} input[name=last_name]", "Ли")
    browser.fill(f"{form} input[name=email]", a["user"]["email"])
    browser.fill(f"{form} input[name=password]", "pass-1234")
    browser.click("#create-user-submit")
    err = browser.find(f"{form} [data-field=first_name] .field-error")
    assert "30" in err.text
    browser.shot("create_user_errors")
    browser.fill(f"{form} input[name=first_name]", "Ольга")
    browser.click("#create-user-submit")
    taken = browser.find(f"{form} [data-field=email] .field-error")
    assert taken.text == "Пользователь с такой почтой уже существует"
    email = unique_email("olga")
    browser.fill(f"{form} input[name=email]", email)
    browser.click("#create-user-submit")
    browser.gone("#create-user-dialog")
    browser.text("#users-table", email)
    browser.shot("users_and_rights")
    users = a["api"].get("/api/v1/users").json()["items"]
    created = next(u for u in users if u["email"] == email)
    assert (created["first_name"], created["last_name"]) == ("Ольга", "Ли")
    # the new user logs in with the password set on the screen
    assert api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).status_code == 200


def test_own_password_change_asks_for_the_current_password(browser, api):
    a = sign_up(api)
    other = api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": a["password"]}).json()
    browser.log_in_as(a["tokens"])
    browser.open("/settings/users")
    browser.find("#users-table")
    browser.click("#change-password")
    form = "#change-password-form"
    assert "8" in browser.find("#change-password-dialog .hint").text  # the rule is shown (in Russian)
    browser.fill(f"{form} input[name=password]", "qwerty123")
    browser.fill(f"{form} input[name=repeat]", "qwerty123")
    browser.click("#change-password-submit")
    assert browser.find(f"{form} [data-field=current_password] .field-error").text == "Это поле обязательно."
    browser.fill(f"{form} input[name=current_password]", a["password"])
    browser.click("#change-password-submit")
    assert browser.find(f"{form} [data-field=password] .field-error").text == \
        "Этот пароль слишком распространён. Выберите другой."
    browser.fill(f"{form} input[name=password]", "my-own-pass-7")
    browser.fill(f"{form} input[name=repeat]", "my-own-pass-7")
    browser.fill(f"{form} input[name=current_password]", "not-my-pass")
    browser.click("#change-password-submit")
    browser.text(f"{form} [data-field=current_password] .field-error",
                 "Чтобы сменить пароль или почту, правильно введите текущий пароль.")
    browser.shot("change_password")
    browser.fill(f"{form} input[name=current_password]", a["password"])
    browser.click("#change-password-submit")
    browser.gone("#change-password-dialog")
    browser.text("#notice", "Другие сеансы завершены")
    assert api.post("/api/v1/auth/login", json={"email": a["user"]["email"],
                                                "password": "my-own-pass-7"}).status_code == 200
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 401


def test_role_permission_toggle(browser, api):
    a = sign_up(api)
    roles = a["api"].get("/api/v1/roles").json()["items"]
    manager = next(r for r in roles if not r["permissions"]["admin"])
    before = manager["permissions"]["edit_phone"]
    browser.log_in_as(a["tokens"])
    browser.open("/settings/users")
    toggle = f"#roles tr[data-role='{manager['name']}'] input[data-perm=edit_phone]"
    browser.find(f"#roles tr[data-role='{manager['name']}']")
    browser.driver.execute_script("arguments[0].click()", browser.all(toggle)[0])
    wait_for(lambda: a["api"].get("/api/v1/roles").json()["items"] and next(
        r for r in a["api"].get("/api/v1/roles").json()["items"] if r["id"] == manager["id"]
    )["permissions"]["edit_phone"] is (not before), message="the permission toggled")
    browser.until(lambda: browser.all(toggle)[0].is_selected() is (not before), message="the toggle shows it")
    # a new group through its dialog
    browser.click("#add-group")
    browser.fill("#group-dialog input[name=name]", "Отдел продаж")
    browser.click("#group-dialog button[type=submit]")
    browser.gone("#group-dialog")
    browser.find("#groups [data-group='Отдел продаж'].active")
    assert "Отдел продаж" in [g["name"] for g in a["api"].get("/api/v1/groups").json()["items"]]


def test_forgot_and_reset_password_from_the_email(browser, api, system):
    a = sign_up(api)
    email = a["user"]["email"]
    browser.open("/login")
    browser.click("#forgot-link")
    browser.find("#forgot-page")
    browser.fill("#forgot-form input[name=email]", email)
    browser.shot("forgot_password")
    browser.click("#forgot-form button[type=submit]")
    browser.find("#forgot-sent")
    folder = pathlib.Path(system.env["MAIL_DIR"])
    mail = wait_for(lambda: [m for m in read_mails(folder) if m["To"] == email], timeout=15,
                    message="the reset e-mail")[-1]
    link = re.search(r"(http://\S+/reset#token=\S+)", mail.get_content()).group(1)
    browser.driver.get(link)
    browser.find("#reset-form")
    # the token leaves the address bar at once (kept in memory only)
    assert "token" not in browser.driver.current_url
    browser.fill("#reset-form input[name=password]", "brand-new-1")
    browser.fill("#reset-form input[name=repeat]", "brand-new-2")
    browser.click("#reset-submit")
    browser.find("#reset-page [role=alert]")
    browser.force("#reset-form input[name=password]", "p" * 31)
    browser.force("#reset-form input[name=repeat]", "p" * 31)
    browser.click("#reset-submit")
    assert "30" in browser.find("#reset-form [data-field=password] .field-error").text
    browser.fill("#reset-form input[name=password]", "brand-new-1")
    browser.fill("#reset-form input[name=repeat]", "brand-new-1")
    browser.shot("reset_password")
    browser.click("#reset-submit")
    browser.find("#reset-done")
    browser.click("#to-login")
    browser.login(email, "brand-new-1")
    assert api.post("/api/v1/auth/login", json={"email": email, "password": a["password"]}).status_code == 401


def test_a_manager_sees_no_admin_buttons(browser, api):
    a = sign_up(api)
    roles = a["api"].get("/api/v1/roles").json()["items"]
    groups = a["api"].get("/api/v1/groups").json()["items"]
    manager = next(r for r in roles if not r["permissions"]["admin"])
    email = unique_email("mgr")
    assert a["api"].post("/api/v1/users", json={"first_name": "Sardor", "last_name": "Aliev", "email": email,
                                                "password": "pass-1234", "role_id": manager["id"],
                                                "group_id": groups[0]["id"]}).status_code == 201
    tokens = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()
    browser.log_in_as(tokens)
    browser.open("/settings/users")
    browser.text("#users-table", email)
    assert not browser.all("#create-user") and not browser.all("#add-group") and not browser.all("#add-role")
    assert browser.driver.execute_script(
        "return [...document.querySelectorAll('#roles input[data-perm]')].every(i => i.disabled)")
    browser.open("/settings/funnel")
    browser.find("#funnel-editor .funnel-group")
    assert not browser.all("#funnel-edit")


def test_an_expired_access_token_is_refreshed_and_a_revoked_session_goes_to_login(browser, api):
    a = sign_up(api)
    browser.log_in_as({"access_token": "expired.or.garbage", "refresh_token": a["tokens"]["refresh_token"]})
    browser.open("/settings/users")
    browser.text("#users-table", a["user"]["email"])
    stored = browser.driver.execute_script("return JSON.parse(sessionStorage.getItem('crm.tokens'))")
    assert stored["access_token"] != "expired.or.garbage"
    assert "refresh_token" not in stored
    rotated = browser.refresh_cookie()
    assert rotated and rotated != a["tokens"]["refresh_token"]
    # the session ends elsewhere: the next load falls back to the login page, keeping where the user was
    assert api.post("/api/v1/auth/logout", json={"refresh_token": rotated}).status_code == 204
    browser.log_in_as({"access_token": "expired.or.garbage", "refresh_token": rotated})
    browser.open("/settings/funnel")
    browser.find("#login-page")
    assert browser.path == "/login?next=%2Fsettings%2Ffunnel"
    browser.fill("#login-form input[name=email]", a["user"]["email"])
    browser.fill("#login-form input[name=password]", a["password"])
    browser.click("#login-submit")
    browser.find("#funnel-editor")


def test_a_copied_link_opened_in_a_new_tab_stays_logged_in_until_logout(browser, api):
    """The refresh token lives in an httpOnly cookie (not readable by scripts), so a new tab, which starts with
    no token of its own, resumes the session; logout ends it for every tab."""
    a = sign_up(api)
    browser.open("/login")
    browser.fill("#login-form input[name=email]", a["user"]["email"])
    browser.fill("#login-form input[name=password]", a["password"])
    browser.click("#login-submit")
    browser.find("#user-menu-button")
    cookie = browser.session_cookie()
    assert cookie and cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth"
    assert "crm_refresh" not in browser.driver.execute_script("return document.cookie")
    assert cookie["value"] not in browser.driver.execute_script(
        "return JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    link = "/settings/funnel"
    first = browser.driver.current_window_handle
    try:
        for _ in range(2):  # two new tabs, one after the other: each rotates the cookie the previous one left
            browser.driver.switch_to.new_window("tab")
            browser.open(link)
            browser.find("#funnel-editor")
            assert browser.path == link
            browser.driver.close()
            browser.driver.switch_to.window(first)
        browser.open("/settings/users")  # the first tab goes on with its own token
        browser.text("#users-table", a["user"]["email"])
        browser.click("#user-menu-button")
        browser.click("#logout")
        browser.find("#login-page")
        assert browser.session_cookie() is None
        browser.driver.switch_to.new_window("tab")
        browser.open(link)
        browser.find("#login-page")
        assert browser.path == "/login?next=%2Fsettings%2Ffunnel"
    finally:
        for handle in browser.driver.window_handles:
            if handle != first:
                browser.driver.switch_to.window(handle)
                browser.driver.close()
        browser.driver.switch_to.window(first)
