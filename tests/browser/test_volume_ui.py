"""Volume in the UI (issue 25): the deal form's client typeahead finds one client among 5,000 (paged,
keyboard driven, combobox/listbox roles), the board's columns show their next deals, and the board's search
and responsible filter narrow it."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest
from selenium.webdriver.common.keys import Keys

from tests.browser.test_records_ui import deal_funnel, new_user
from tests.support.system import Api, sign_up

pytestmark = pytest.mark.e2e

CLIENTS = 5000
TARGET = 2718
PICKER = "#deal-dialog input[role=combobox]"
OPTIONS = "#deal-dialog [role=listbox] [role=option]"


def _post(c, path: str, body: dict) -> dict:
    """POST as fast as the API allows: a 429 (the per-company limit) waits as long as Retry-After says."""
    for _ in range(50):
        resp = c.post(path, json=body)
        if resp.status_code == 429:
            time.sleep(float(resp.headers.get("Retry-After") or 1))
            continue
        assert resp.status_code == 201, resp.text
        return resp.json()
    raise AssertionError(f"{path} kept answering 429")


def _name(i: int) -> str:
    return "Бахтиёр Назаров" if i == TARGET else f"Клиент {i:04d}"


@pytest.fixture()
def company(api):
    a = sign_up(api)
    deal_funnel(a)
    return a


def _open_deal_form(browser, company):
    browser.log_in_as(company["tokens"])
    browser.open("/board")
    browser.find("#board .column")
    browser.click("#add-deal")
    browser.find("#deal-dialog")


def _clear(el) -> None:
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(Keys.BACKSPACE)


def _shown(browser) -> list[str]:
    """The options' texts in one script call (the list re-renders while it is read)."""
    return browser.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((o) => o.textContent)", OPTIONS)


@pytest.mark.timeout(600)  # 5,000 clients through the API first
def test_the_client_picker_finds_one_client_among_5000(browser, company):
    c = company["api"]
    local = threading.local()

    def create(i: int) -> dict:
        if not hasattr(local, "api"):
            local.api = Api(c.base, c.token, c.lang)  # a session of its own per thread
        return _post(local.api, "/api/v1/clients", {"name": _name(i)})

    with concurrent.futures.ThreadPoolExecutor(12) as pool:  # the API has no bulk create: many at once
        made = list(pool.map(create, range(CLIENTS)))
    target = made[TARGET]
    assert target["name"] == "Бахтиёр Назаров"
    _open_deal_form(browser, company)
    browser.fill("#deal-dialog input[name=title]", "Поставка ноутбуков")
    picker = browser.find(PICKER)
    listbox_id = picker.get_attribute("aria-controls")
    label = browser.find(f"#deal-dialog label[for='{picker.get_attribute('id')}']")
    assert label.text == "Клиент" and listbox_id
    # a part of many names: a page of 20 and "more", which Enter on it (reached by the arrows) loads
    picker.send_keys("клиент 04")
    browser.until(lambda: len(browser.all(OPTIONS)) == 21, message="the first page and more")
    assert picker.get_attribute("aria-expanded") == "true"
    assert all(t.startswith("Клиент 04") for t in _shown(browser)[:20])
    assert browser.find(f"#{listbox_id}").get_attribute("role") == "listbox"
    picker.send_keys(Keys.ARROW_UP)  # wraps round to the last option, "more"
    assert picker.get_attribute("aria-activedescendant") == browser.all(OPTIONS)[-1].get_attribute("id")
    picker.send_keys(Keys.ENTER)
    browser.until(lambda: len(browser.all(OPTIONS)) == 41, message="the second page")
    shown = _shown(browser)[:40]
    assert len(set(shown)) == 40 and all(t.startswith("Клиент 04") for t in shown)
    picker.send_keys(Keys.ESCAPE)  # closes the list, not the dialog
    browser.gone(f"#{listbox_id}")
    assert picker.get_attribute("aria-expanded") == "false"
    browser.find("#deal-dialog")
    # a part of one name, typed in another case: one option, chosen with the keyboard
    _clear(picker)
    picker.send_keys("назар")
    browser.until(lambda: _shown(browser) == ["Бахтиёр Назаров"], message="the one match")
    picker.send_keys(Keys.ARROW_DOWN)
    picker.send_keys(Keys.ARROW_UP)
    assert browser.all(OPTIONS)[0].get_attribute("aria-selected") == "true"
    browser.shot("client_picker")
    picker.send_keys(Keys.ENTER)
    browser.gone(f"#{listbox_id}")
    assert picker.get_attribute("value") == "Бахтиёр Назаров"
    browser.click("#deal-save")
    browser.gone("#deal-dialog")
    deals = c.get("/api/v1/deals?q=Поставка").json()["items"]
    assert [d["client_id"] for d in deals] == [target["id"]]


def _stage_ids(company) -> list[str]:
    funnel = deal_funnel(company)
    return [s["id"] for g in funnel["groups"] for s in g["stages"]]


def _titles(browser, css: str) -> list[str]:
    """The cards' titles in one script call (the board re-renders while it is read)."""
    return browser.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((el) => el.dataset.deal)", css)


def _cards(browser, stage_id: str) -> list[str]:
    return _titles(browser, f"#board [data-stage-id='{stage_id}'] .card")


def test_show_more_gives_a_column_its_next_deals(browser, company):
    c = company["api"]
    first = _stage_ids(company)[0]
    for i in range(25):
        _post(c, "/api/v1/deals", {"title": f"Сделка {i:02d}", "stage_id": first})
    browser.log_in_as(company["tokens"])
    browser.open("/board")
    browser.until(lambda: len(_cards(browser, first)) == 20, message="the column's first 20")
    assert _cards(browser, first) == [f"Сделка {i:02d}" for i in range(24, 4, -1)]  # newest first
    browser.click(f"#board [data-more-stage='{first}']")
    browser.until(lambda: len(_cards(browser, first)) == 25, message="the column's next deals")
    assert _cards(browser, first) == [f"Сделка {i:02d}" for i in range(24, -1, -1)]
    browser.gone(f"#board [data-more-stage='{first}']")
    browser.shot("board_show_more")


def test_search_and_responsible_narrow_the_board(browser, company):
    c = company["api"]
    stages = _stage_ids(company)
    other = new_user(company, "Дилшод", "Каримов")
    for i in range(30):
        _post(c, "/api/v1/deals", {"title": f"Сделка {i:02d}", "stage_id": stages[0]})
    _post(c, "/api/v1/deals", {"title": "Ноутбуки Lenovo", "stage_id": stages[1]})
    _post(c, "/api/v1/deals", {"title": "Ноутбуки HP", "stage_id": stages[0], "responsible_id": other["id"]})
    browser.log_in_as(company["tokens"])
    browser.open("/board")
    browser.until(lambda: len(_cards(browser, stages[0])) == 20, message="the unfiltered board")
    browser.fill("#board-filters input[name=board_q]", "ноутбук")
    browser.until(lambda: _cards(browser, stages[0]) == ["Ноутбуки HP"] and _cards(browser, stages[1])
                  == ["Ноутбуки Lenovo"], message="the board narrowed by the search")
    assert len(browser.all("#board .card")) == 2
    assert not browser.all("#board .column-more")
    browser.shot("board_search")
    select = browser.find("#board-filters select[name=board_responsible]")
    select.find_element("css selector", f"option[value='{other['id']}']").click()
    browser.until(lambda: _titles(browser, "#board .card") == ["Ноутбуки HP"],
                  message="the board narrowed by the responsible too")
    _clear(browser.find("#board-filters input[name=board_q]"))
    browser.until(lambda: _titles(browser, "#board .card") == ["Ноутбуки HP"],
                  message="only the responsible's deals")
    select.find_element("css selector", "option[value='']").click()
    browser.until(lambda: len(_cards(browser, stages[0])) == 20, message="the whole board again")
    assert browser.find(f"#board [data-more-stage='{stages[0]}']")
