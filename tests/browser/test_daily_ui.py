"""A salesperson's day in a real browser (issue 25): a note on the deal card shown on its timeline, an
overdue task shown red and rescheduled out of Overdue, a delete that asks first (cancel keeps, confirm
deletes), a double click that makes one request (with an Idempotency-Key), screenshots at 1280 and 375 px."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.browser.test_records_ui import deal_funnel
from tests.support.infra import wait_for
from tests.support.system import sign_up

pytestmark = pytest.mark.e2e

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# records every fetch the page makes: method, path and its Idempotency-Key
SPY = """
window.__calls = [];
const original = window.fetch.bind(window);
window.fetch = (url, opts) => {
  const h = (opts && opts.headers) || {};
  window.__calls.push({url: String(url), method: (opts && opts.method) || 'GET', key: h['Idempotency-Key'] || null});
  return original(url, opts);
};
"""

SET_VALUE = """
const [el, value] = arguments;
const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
setter.call(el, value);
el.dispatchEvent(new Event('input', {bubbles: true}));
"""


@pytest.fixture()
def company(api):
    a = sign_up(api)
    deal_funnel(a)
    return a


@pytest.fixture()
def sized(browser):
    """The browser, put back to its usual size afterwards."""
    yield browser
    browser.driver.set_window_size(1400, 900)


def shots(browser, name: str, css: str | None = None) -> None:
    """Screenshots at 1280 and at 375 px wide, scrolled to `css` (under the sticky top bar) or to the top."""
    for width, height in ((1280, 900), (375, 812)):
        browser.driver.set_window_size(width, height)
        browser.driver.execute_script(
            "const el = arguments[0] && document.querySelector(arguments[0]);"
            "window.scrollTo(0, el ? el.getBoundingClientRect().top + window.scrollY - 64 : 0)", css)
        browser.shot(f"{name}_{width}")
        overflow = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    browser.driver.execute_script("window.scrollTo(0, 0)")


def test_a_note_added_on_the_deal_card_is_shown_on_the_timeline(sized, company):
    browser, api = sized, company["api"]
    deal = api.post("/api/v1/deals", json={"title": f"С заметками {uuid.uuid4().hex[:4]}"}).json()
    api.post(f"/api/v1/deals/{deal['id']}/notes", json={"text": "Первая заметка: клиент просил КП"})
    browser.log_in_as(company["tokens"])
    browser.open(f"/deals/{deal['id']}")
    assert browser.find("#note-form textarea[name=note]").get_attribute("maxlength") == "4000"
    browser.fill("#note-form textarea[name=note]", "Позвонил, договорились о встрече в пятницу")
    browser.click("#note-save")
    browser.text("#notes .note-list li.note", "договорились о встрече")
    # newest first
    assert "договорились" in browser.all("#notes .note-list li.note")[0].text
    entry = browser.text("#history li[data-action=note_added]", "договорились о встрече")
    assert "Заметка добавлена" in entry.text
    notes = api.get(f"/api/v1/deals/{deal['id']}/notes").json()["items"]
    assert [n["text"] for n in notes][0] == "Позвонил, договорились о встрече в пятницу"
    # edit one's own note: the timeline shows the change
    first = f"#notes li.note[data-note-id='{notes[0]['id']}']"
    browser.click(f"{first} [data-action=edit-note]")
    browser.fill(f"{first} textarea[name=note-edit]", "Встреча в пятницу в 10:00")
    browser.click(f"{first} [data-action=save-note]")
    browser.text("#notes li.note .note-text", "Встреча в пятницу в 10:00")
    browser.text("#history li[data-action=note_updated]", "Встреча в пятницу в 10:00")
    shots(browser, "deal_card_notes", "#notes")
    # delete it (asked first)
    browser.click(f"#notes li.note[data-note-id='{notes[0]['id']}'] [data-action=delete-note]")
    browser.text("#confirm-dialog #confirm-text", "Удалить заметку?")
    browser.click("#confirm-dialog #confirm-ok")
    browser.gone(f"#notes li.note[data-note-id='{notes[0]['id']}']")
    browser.find("#history li[data-action=note_deleted]")
    assert len(api.get(f"/api/v1/deals/{deal['id']}/notes").json()["items"]) == 1


def test_the_timeline_and_the_notes_show_more_by_cursor(browser, company):
    api = company["api"]
    client = api.post("/api/v1/clients", json={"name": f"Клиент {uuid.uuid4().hex[:4]}"}).json()
    for i in range(23):
        assert api.post(f"/api/v1/clients/{client['id']}/notes", json={"text": f"заметка {i}"}).status_code == 201
    browser.log_in_as(company["tokens"])
    browser.open(f"/clients/{client['id']}")
    browser.text("#notes li.note", "заметка 22")
    assert len(browser.all("#notes li.note")) == 20 and len(browser.all("#history .timeline li")) == 20
    browser.click("#notes-more")
    browser.until(lambda: len(browser.all("#notes li.note")) == 23, message="all 23 notes")
    browser.gone("#notes-more")
    browser.click("#history-more")
    browser.until(lambda: len(browser.all("#history .timeline li")) == 24, message="the whole timeline")
    assert browser.all("#history .timeline li")[-1].get_attribute("data-action") == "created"


def test_an_overdue_task_is_red_and_rescheduling_moves_it_out_of_overdue(sized, company):
    browser, api = sized, company["api"]
    me = company["user"]["id"]
    deal = api.post("/api/v1/deals", json={"title": "Сделка с задачами"}).json()
    now = dt.datetime.now(dt.timezone.utc)

    def task(comment, due):
        resp = api.post("/api/v1/tasks", json={"type": "call", "comment": comment, "due_at": due.isoformat(),
                                               "responsible_id": me, "deal_id": deal["id"]})
        assert resp.status_code == 201, resp.text
        return resp.json()
    late = task("Перезвонить (просрочено)", now - dt.timedelta(days=2))
    task("Встреча сегодня", now + dt.timedelta(minutes=1) if now.hour < 23 else now)
    task("Отправить договор", now + dt.timedelta(days=3))
    browser.log_in_as(company["tokens"])
    browser.open("/tasks")
    row = f"#tasks-overdue li.task[data-task-id='{late['id']}']"
    el = browser.find(row)
    assert "overdue" in el.get_attribute("class")
    color = browser.driver.execute_script("return getComputedStyle(arguments[0]).borderLeftColor", el)
    assert color == "rgb(217, 59, 59)"  # var(--danger)
    browser.find("#tasks-upcoming li.task[data-task='Отправить договор']")
    shots(browser, "tasks_grouped")
    browser.driver.set_window_size(1280, 900)
    browser.click(f"{row} [data-action=edit-task]")
    new_due = (dt.datetime.now() + dt.timedelta(days=2)).replace(hour=11, minute=30, second=0, microsecond=0)
    browser.driver.execute_script(SET_VALUE, browser.find(f"{row} input[name=due_at]"), new_due.strftime("%Y-%m-%dT%H:%M"))
    browser.fill(f"{row} input[name=comment]", "Перезвонить в среду")
    browser.click(f"{row} [data-action=save-task]")
    browser.gone(row)
    browser.find(f"#tasks-upcoming li.task[data-task-id='{late['id']}']")
    assert not browser.all(f"#tasks-upcoming li.task[data-task-id='{late['id']}'].overdue")
    saved = api.get(f"/api/v1/tasks?deal_id={deal['id']}&due=upcoming").json()["items"]
    moved = next(t for t in saved if t["id"] == late["id"])
    assert moved["overdue"] is False and moved["comment"] == "Перезвонить в среду"
    assert not [t for t in api.get("/api/v1/tasks?due=overdue").json()["items"] if t["id"] == late["id"]]
    # tick done, then delete (asked first)
    upcoming = f"#tasks-upcoming li.task[data-task-id='{late['id']}']"
    browser.click(f"{upcoming} [data-action=delete-task]")
    browser.click("#confirm-dialog #confirm-ok")
    browser.gone(upcoming)
    assert api.get(f"/api/v1/tasks?deal_id={deal['id']}").json()["items"].__len__() == 2


def test_a_delete_asks_first_cancel_keeps_and_confirm_deletes(browser, company):
    api = company["api"]
    deal = api.post("/api/v1/deals", json={"title": "Под вопросом"}).json()
    browser.log_in_as(company["tokens"])
    browser.open(f"/deals/{deal['id']}")
    browser.click("#delete-record")
    browser.text("#confirm-dialog #confirm-text", "Под вопросом")
    browser.shot("confirm_delete")
    browser.click("#confirm-dialog #confirm-cancel")
    browser.gone("#confirm-dialog")
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["deleted"] is False
    # Escape closes it too, and the focus goes back to the button that opened it
    browser.click("#delete-record")
    browser.find("#confirm-dialog")
    assert browser.driver.switch_to.active_element.get_attribute("id") == "confirm-cancel"
    browser.driver.switch_to.active_element.send_keys(Keys.TAB)  # Tab stays inside the dialog
    assert browser.driver.execute_script(
        "return document.getElementById('confirm-dialog').contains(document.activeElement)")
    browser.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    browser.gone("#confirm-dialog")
    assert browser.driver.switch_to.active_element.get_attribute("id") == "delete-record"
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["deleted"] is False
    assert browser.find("#deal-card").get_attribute("data-deleted") == "false"
    browser.click("#delete-record")
    browser.click("#confirm-dialog #confirm-ok")
    browser.find("#deleted-banner")
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["deleted"] is True


def test_a_double_click_on_a_submit_button_makes_one_request(browser, company):
    api = company["api"]
    deal = api.post("/api/v1/deals", json={"title": "Двойной клик"}).json()
    browser.log_in_as(company["tokens"])
    browser.open(f"/deals/{deal['id']}")
    browser.fill("#note-form textarea[name=note]", "Одна заметка, не две")
    browser.driver.execute_script(SPY)
    ActionChains(browser.driver).double_click(browser.find("#note-save")).perform()
    browser.text("#notes li.note", "Одна заметка, не две")
    browser.find("#history li[data-action=note_added]")
    notes = api.get(f"/api/v1/deals/{deal['id']}/notes").json()["items"]
    assert [n["text"] for n in notes] == ["Одна заметка, не две"]
    calls = browser.driver.execute_script("return window.__calls")
    posts = [c for c in calls if c["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["url"].endswith(f"/api/v1/deals/{deal['id']}/notes"), calls
    assert UUID.match(posts[0]["key"]), posts
    # every write the card makes carries its own fresh key
    browser.click("#add-task")
    browser.fill("#task-form input[name=comment]", "Задача по клику")
    ActionChains(browser.driver).double_click(browser.find("#task-save")).perform()
    browser.text("#tasks li.task", "Задача по клику")
    wait_for(lambda: len(api.get(f"/api/v1/tasks?deal_id={deal['id']}").json()["items"]) == 1, timeout=5,
             message="one task")
    assert len(api.get(f"/api/v1/tasks?deal_id={deal['id']}").json()["items"]) == 1
    calls = browser.driver.execute_script("return window.__calls")
    keys = [c["key"] for c in calls if c["method"] in ("POST", "PATCH")]
    assert len(keys) == 2 and len(set(keys)) == 2 and all(UUID.match(k) for k in keys), calls


def test_the_tasks_page_shows_more_by_cursor(browser, company):
    api, me = company["api"], company["user"]["id"]
    deal = api.post("/api/v1/deals", json={"title": "Много задач"}).json()
    start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5)
    for i in range(53):
        resp = api.post("/api/v1/tasks", json={"type": "call", "comment": f"задача {i:02d}", "responsible_id": me,
                                               "due_at": (start + dt.timedelta(hours=i)).isoformat(), "deal_id": deal["id"]})
        assert resp.status_code == 201, resp.text
    browser.log_in_as(company["tokens"])
    browser.open("/tasks")
    browser.text("#tasks-upcoming li.task", "задача 00")
    assert len(browser.all("#tasks-upcoming li.task")) == 50
    assert "задача 49" in browser.all("#tasks-upcoming li.task")[-1].text  # soonest due first
    browser.click("#tasks-upcoming [data-action=more-tasks]")
    browser.until(lambda: len(browser.all("#tasks-upcoming li.task")) == 53, message="all 53 tasks")
    browser.gone("#tasks-upcoming [data-action=more-tasks]")
    assert not browser.all("#tasks-overdue li.task") and not browser.all("#tasks-today li.task")


# the first POST reaches the gateway but its answer is lost (as on a dropped connection)
LOSE_FIRST_ANSWER = """
window.__calls = [];
const original = window.fetch.bind(window);
let lost = false;
window.fetch = async (url, opts) => {
  const h = (opts && opts.headers) || {};
  window.__calls.push({url: String(url), method: (opts && opts.method) || 'GET', key: h['Idempotency-Key'] || null});
  const resp = await original(url, opts);
  if (!lost && opts && opts.method === 'POST') { lost = true; throw new TypeError('Failed to fetch'); }
  return resp;
};
"""


def test_the_uis_own_retry_reuses_the_key_so_a_lost_answer_makes_one_note(browser, company):
    api = company["api"]
    deal = api.post("/api/v1/deals", json={"title": "Обрыв связи"}).json()
    browser.log_in_as(company["tokens"])
    browser.open(f"/deals/{deal['id']}")
    browser.fill("#note-form textarea[name=note]", "Заметка через обрыв")
    browser.driver.execute_script(LOSE_FIRST_ANSWER)
    browser.click("#note-save")
    browser.text("#notes li.note", "Заметка через обрыв")
    posts = [c for c in browser.driver.execute_script("return window.__calls") if c["method"] == "POST"]
    assert len(posts) == 2 and posts[0]["key"] == posts[1]["key"] and UUID.match(posts[0]["key"]), posts
    notes = api.get(f"/api/v1/deals/{deal['id']}/notes").json()["items"]
    assert [n["text"] for n in notes] == ["Заметка через обрыв"]
