"""Keyboard, screen-reader and phone-width accessibility (issue 25): axe-core's WCAG 2.1 A/AA rules find no
serious or critical violation on any page of the app (signed out and in, every settings page, open dialogs,
menus and edit modes), focus is visible, and at 375 px no page scrolls sideways (screenshots of the board, the
deal card and the tasks at 375 px under artifacts/screenshots/)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from selenium.webdriver.common.keys import Keys

from tests.browser.axe import assert_accessible
from tests.browser.test_records_ui import deal_funnel
from tests.support.system import Api, sign_up

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def company(system):
    """One company with a little of everything: a client, a deal of it, a task, notes, a custom field, a process."""
    a = sign_up(Api(system.gateway_url()))
    a["since"] = time.monotonic()
    api = a["api"]
    deal_funnel(a)
    for body in ({"entity": "deal", "key": "source", "name": "Источник", "type": "select", "options": ["Сайт", "Звонок"]},
                 {"entity": "deal", "key": "vip", "name": "VIP", "type": "checkbox"}):
        assert api.post("/api/v1/fields", json=body).status_code == 201
    client = api.post("/api/v1/clients", json={"name": "ООО Ромашка", "email": "info@romashka.uz",
                                               "phone": {"country": "UZ", "number": "901234567"}})
    assert client.status_code == 201, client.text
    deal = api.post("/api/v1/deals", json={"title": "Поставка ноутбуков", "amount": "1500000",
                                           "client_id": client.json()["id"]})
    assert deal.status_code == 201, deal.text
    a["client"], a["deal"] = client.json(), deal.json()
    now = dt.datetime.now(dt.UTC)
    for comment, due in (("Перезвонить", now - dt.timedelta(days=1)), ("Отправить КП", now + dt.timedelta(days=2))):
        resp = api.post("/api/v1/tasks", json={"type": "call", "comment": comment, "due_at": due.isoformat(),
                                               "responsible_id": a["user"]["id"], "deal_id": a["deal"]["id"]})
        assert resp.status_code == 201, resp.text
    for path in (f"/api/v1/deals/{a['deal']['id']}/notes", f"/api/v1/clients/{a['client']['id']}/notes"):
        assert api.post(path, json={"text": "Клиент просил коммерческое предложение"}).status_code == 201
    resp = api.post("/api/v1/processes", json={"type": "task", "trigger": {"event": "deal.created"}, "due": "today",
                                               "assignee": "responsible", "task_type": "call", "comment": "Позвонить"})
    assert resp.status_code == 201, resp.text
    return a


@pytest.fixture()
def signed_in(browser, company, system):
    """The browser in the company's admin session (fresh tokens when the sign-up's are getting old)."""
    if time.monotonic() - company["since"] > 600:
        resp = Api(system.gateway_url()).post("/api/v1/auth/login", json={"email": company["user"]["email"],
                                                                         "password": company["password"]})
        assert resp.status_code == 200, resp.text
        company["tokens"], company["since"] = resp.json(), time.monotonic()
    browser.log_in_as(company["tokens"])
    yield browser
    browser.driver.set_window_size(1400, 900)


def settled(browser, ready: str) -> None:
    """Wait for `ready`, then for nothing still saying loading."""
    browser.find(ready)
    browser.gone(".loading")
    browser.until(lambda: not browser.driver.execute_script(
        "return [...document.querySelectorAll('p.muted')].some((p) => p.textContent.trim().endsWith('…'))"),
        message="the page loaded")


# ---- signed out ---------------------------------------------------------------------------------------
PUBLIC = [("/login", "#login-form"), ("/signup", "#signup-form"), ("/forgot", "#forgot-form"),
          ("/reset#token=not-a-real-one", "#reset-form")]


@pytest.mark.parametrize("path,ready", PUBLIC, ids=[p.split("#")[0] for p, _ in PUBLIC])
def test_the_signed_out_pages_pass_axe(browser, path, ready):
    browser.open(path)
    settled(browser, ready)
    assert_accessible(browser, path)


def test_the_signed_out_forms_pass_axe_with_their_errors_shown(browser, company):
    browser.open("/login")
    browser.fill("#login-form input[name=email]", company["user"]["email"])
    browser.fill("#login-form input[name=password]", "not-the-password")
    browser.click("#login-submit")
    browser.find("#login-form .alert.error")
    assert_accessible(browser, "the login page with its error")
    browser.open("/signup")
    for name, value in (("company_name", "Ромашка"), ("first_name", "Аня"), ("last_name", "Ким"),
                        ("email", "a11y@t.uz"), ("password", "short")):
        browser.fill(f"#signup-form input[name={name}]", value)
    browser.click("#signup-submit")
    browser.find("#signup-form [data-field=password] .field-error")
    assert_accessible(browser, "the sign-up page with a field error")


# ---- signed in: every screen ------------------------------------------------------------------------------
SCREENS = ["board", "deals", "clients", "deal-card", "client-card", "tasks", "reports", "settings-users",
           "settings-funnel", "settings-fields", "settings-processes", "settings-billing"]


def page(company, screen: str) -> tuple[str, str]:
    """A screen's path and what shows once it has loaded."""
    return {
        "board": ("/board", "#board .card"),
        "deals": ("/deals", "#deals-table tbody tr"),
        "clients": ("/clients", "#clients-table tbody tr"),
        "deal-card": (f"/deals/{company['deal']['id']}", "#deal-card #tasks li.task"),
        "client-card": (f"/clients/{company['client']['id']}", "#client-card #client-deals li"),
        "tasks": ("/tasks", "#tasks-overdue li.task"),
        "reports": ("/reports", "#reports-page #report-summary"),
        "settings-users": ("/settings/users", "#users-table tbody tr"),
        "settings-funnel": ("/settings/funnel", "#funnel-editor .stage"),
        "settings-fields": ("/settings/fields", "#fields-page tr[data-field=source]"),
        "settings-processes": ("/settings/processes", "#processes-table tbody tr"),
        "settings-billing": ("/settings/billing", "#billing-state"),
    }[screen]


@pytest.mark.parametrize("screen", SCREENS)
def test_every_screen_passes_axe(signed_in, company, screen):
    path, ready = page(company, screen)
    signed_in.open(path)
    settled(signed_in, ready)
    assert_accessible(signed_in, screen)


def test_the_settings_list_every_tab_tested_here(signed_in, company):
    """A new settings tab (or main screen) is added to the list above, so axe checks it too."""
    signed_in.open("/settings/users")
    settled(signed_in, "#users-table")
    # the page shown is named for screen readers, not only by colour
    assert signed_in.find(".side-nav a[aria-current=page]").get_attribute("id") == "settings-users"
    assert signed_in.find(".topbar nav a[aria-current=page]").get_attribute("id") == "nav-settings"
    tabs = [a.get_attribute("id").removeprefix("settings-") for a in signed_in.all(".side-nav a")]
    nav = [a.get_attribute("href").split("/", 3)[3] for a in signed_in.all(".topbar nav a")]
    tested = [page(company, screen)[0] for screen in SCREENS]
    assert tabs and all(f"/settings/{t}" in tested for t in tabs), tabs
    assert nav and all(f"/{n}" in tested for n in nav), nav


# ---- signed in: open dialogs, menus, edit modes -----------------------------------------------------------
def test_open_dialogs_menus_and_edit_modes_pass_axe(signed_in, company):
    b = signed_in
    b.open("/board")
    settled(b, "#board .card")
    b.click("#user-menu-button")
    b.find("#user-menu")
    assert_accessible(b, "the user menu")
    b.click("#user-menu-button")
    b.click("#add-deal")
    b.find("#deal-dialog #deal-form")
    b.find("#deal-dialog input[name=client_search]").click()  # the client picker's list open
    b.find("#deal-dialog .combo-list li[role=option]")
    assert_accessible(b, "the new deal dialog")
    b.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    b.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    b.gone("#deal-dialog")

    b.open("/deals")
    settled(b, "#deals-table tbody tr")
    b.click("#deals-table tbody input[name=select]")
    b.find("#bulk-bar")
    assert_accessible(b, "the deals table with a row selected")

    b.open(f"/deals/{company['deal']['id']}")
    settled(b, "#deal-card #tasks li.task")
    b.click("#add-task")
    b.find("#task-form")
    b.click("#tasks li.task [data-action=edit-task]")
    b.find("#tasks li.task form.task-edit")
    b.click("#notes li.note [data-action=edit-note]")
    b.find("#notes textarea[name=note-edit]")
    assert_accessible(b, "the deal card with its task and note forms open")
    b.driver.execute_script("window.scrollTo(0, 0)")  # the toolbar out from under the sticky top bar
    b.click("#delete-record")
    b.find("#confirm-dialog")
    assert_accessible(b, "the confirmation dialog")
    b.click("#confirm-cancel")
    b.gone("#confirm-dialog")

    b.open("/settings/funnel")
    settled(b, "#funnel-editor .stage")
    b.click("#funnel-editor [data-action=rules]")
    b.find("#stage-rules input[data-rule]")
    assert_accessible(b, "the stage rules dialog")
    b.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    b.gone("#stage-rules")
    b.click("#funnel-edit")
    b.click("#funnel-editor [data-action=color]")
    b.find(".palette-pop [data-color]")
    assert_accessible(b, "the funnel editor in edit mode with the palette open")

    b.open("/settings/users")
    settled(b, "#users-table tbody tr")
    b.click("#create-user")
    b.find("#create-user-form")
    assert_accessible(b, "the new user dialog")

    b.open("/settings/processes")
    settled(b, "#processes-table tbody tr")
    b.click("#add-process")
    b.find("#process-form")
    assert_accessible(b, "the new process dialog")
    b.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    b.gone("#process-dialog")
    b.click_text("#processes-table tbody button", "Запуски")
    b.find(".modal[role=dialog]")
    assert_accessible(b, "a process's runs dialog")


FOCUS_RING = """
const el = document.activeElement;
const s = getComputedStyle(el);
return {tag: el.tagName, outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 ? s.outlineColor : null,
        shadow: s.boxShadow !== 'none' ? s.boxShadow : null};
"""


def test_the_keyboard_focus_is_visible(signed_in, company):
    """Tabbing through the board's top bar and toolbar, every focused control shows a focus ring."""
    b = signed_in
    b.open("/board")
    settled(b, "#board .card")
    b.driver.execute_script("document.activeElement && document.activeElement.blur(); window.focus()")
    body = b.driver.find_element("css selector", "body")
    body.send_keys(Keys.TAB)
    seen = []
    for _ in range(10):
        ring = b.driver.execute_script(FOCUS_RING)
        seen.append(ring)
        assert ring["outline"] or ring["shadow"], f"no visible focus on {ring['tag']}: {seen}"
        b.driver.switch_to.active_element.send_keys(Keys.TAB)
    assert {"A", "BUTTON", "INPUT"} <= {r["tag"] for r in seen}, seen


# ---- 375 px -----------------------------------------------------------------------------------------------
NARROW = ["board", "deal-card", "tasks", "reports", "deals", "clients", "client-card", "settings-users",
          "settings-funnel", "settings-fields", "settings-processes", "settings-billing"]
SHOTS = {"board": "a11y_board_375", "deal-card": "a11y_deal_card_375", "tasks": "a11y_tasks_375",
         "reports": "a11y_reports_375"}

WIDTHS = r"""
const nav = [...document.querySelectorAll('.topbar nav a, .topbar .user-button')];
return {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
        inner: window.innerWidth,
        cut: nav.filter((a) => { const r = a.getBoundingClientRect(); return r.left < 0 || r.right > window.innerWidth; })
          .map((a) => a.textContent),
        // the outermost elements that stick out on the right (what to fix)
        wide: [...document.body.querySelectorAll('*')].filter((el) => {
          const w = document.documentElement.clientWidth;
          return el.getBoundingClientRect().right > w + 0.5 && el.parentElement.getBoundingClientRect().right <= w + 0.5;
        }).slice(0, 8).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
          + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '')
          + ' ' + Math.round(el.getBoundingClientRect().right))};
"""


@pytest.mark.parametrize("screen", NARROW)
def test_at_375_px_no_page_scrolls_sideways(signed_in, company, screen):
    b = signed_in
    b.driver.set_window_size(375, 812)
    path, ready = page(company, screen)
    b.open(path)
    settled(b, ready)
    w = b.driver.execute_script(WIDTHS)
    assert w["inner"] <= 375, f"the window did not get narrow: {w}"
    if screen in SHOTS:
        b.shot(SHOTS[screen])
        assert_accessible(b, f"{screen} at 375 px")
    assert w["scroll"] <= w["client"] and w["scroll"] <= w["inner"], f"{screen} scrolls sideways at 375 px: {w}"
    # the top bar wraps: every link of it and the user menu are on the screen
    assert not w["cut"], f"{screen}: the top bar cuts {w['cut']} at 375 px"
