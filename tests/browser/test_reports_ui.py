"""The reports page («Отчёты») in a real browser: deals created through the API and moved through the funnel to
a successful and a failed stage show up in the funnel chart (entered per stage), the summary (created, won,
lost, won amount) and the won/lost trend by week; the responsible filter narrows the report and is kept in the
URL; the team table sorts by a column header (aria-sort), its order kept in the URL; a CSV download sends the
session's bearer token; the page switches to Uzbek; a user without `view_reports` sees the report of their own
deals; screenshots at 1280 and 375 px (no sideways scroll)."""

from __future__ import annotations

import re
import time

import pytest
from selenium.webdriver.support.ui import Select

from tests.browser.axe import assert_accessible
from tests.browser.test_records_ui import new_user
from tests.support.crm import funnel
from tests.support.infra import wait_for
from tests.support.system import Api, sign_up

pytestmark = pytest.mark.e2e

# records every fetch the page makes: its URL and whether it carried the bearer token
SPY = """
window.__calls = [];
const original = window.fetch.bind(window);
window.fetch = (url, opts) => {
  const h = (opts && opts.headers) || {};
  window.__calls.push({url: String(url), auth: String(h['Authorization'] || '').startsWith('Bearer ')});
  return original(url, opts);
};
"""

ENTERED = """
return Object.fromEntries([...document.querySelectorAll('#funnel-chart g.funnel-stage')]
  .map((g) => [g.dataset.stageId, Number(g.dataset.entered)]));
"""

TREND = """
const weeks = [...document.querySelectorAll('#trend-chart g.trend-week')];
return {won: weeks.reduce((n, g) => n + Number(g.dataset.won), 0),
        lost: weeks.reduce((n, g) => n + Number(g.dataset.lost), 0),
        mondays: weeks.map((g) => new Date(g.dataset.week + 'T00:00:00Z').getUTCDay())};
"""


@pytest.fixture(scope="module")
def sales(system):
    """A company with an admin and a manager (Олим Турсунов) and five deals of this month: the admin's one open,
    one won (1 500 000) and one lost; the manager's two won (2 000 000 and 500 000). Every deal that left the
    first stage went through each in-progress stage in order."""
    company = sign_up(Api(system.gateway_url()))
    admin = company["api"]
    f = funnel(admin, "deal")
    groups = {g["key"]: g["stages"] for g in f["groups"]}
    first, steps = groups["unprocessed"][0], groups["in_progress"]
    failed, successful = groups["failed"][0], groups["successful"][0]
    manager = new_user(company)
    me = company["user"]["id"]

    def deal(title, amount, responsible, end=None):
        resp = admin.post("/api/v1/deals", json={"title": title, "amount": amount, "responsible_id": responsible})
        assert resp.status_code == 201, resp.text
        d = resp.json()
        assert d["stage_id"] == first["id"], d
        for stage in ([*steps, end] if end else []):
            moved = admin.patch(f"/api/v1/deals/{d['id']}", json={"stage_id": stage["id"]})
            assert moved.status_code == 200, moved.text
        return d

    deal("Открытая сделка", "700000", me)
    deal("Поставка ноутбуков", "1500000", me, successful)
    deal("Сорвалась", "900000", me, failed)
    deal("Мониторы", "2000000", manager["id"], successful)
    deal("Кабели", "500000", manager["id"], successful)
    expected = {s["id"]: 0 for g in f["groups"] for s in g["stages"]}
    expected[first["id"]] = 5
    expected.update({s["id"]: 4 for s in steps})
    expected[failed["id"]] = 1
    expected[successful["id"]] = 3
    company.update(funnel=f, manager=manager, expected=expected, first=first, since=time.monotonic())
    return company


@pytest.fixture()
def sized(browser):
    """The browser, put back to its usual size afterwards."""
    yield browser
    browser.driver.set_window_size(1400, 900)


def shots(browser, name: str) -> None:
    """Screenshots at 1280 and at 375 px wide; the page never scrolls sideways."""
    for width, height in ((1280, 900), (375, 812)):
        browser.driver.set_window_size(width, height)
        browser.driver.execute_script("window.scrollTo(0, 0)")
        browser.until(lambda: browser.driver.execute_script(
            "const svg = document.getElementById('funnel-chart');"
            "return !svg || Math.abs(svg.viewBox.baseVal.width - svg.parentElement.clientWidth) <= 1"),
            message="the chart fitted to its box")
        browser.shot(f"{name}_{width}")
        overflow = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    browser.driver.set_window_size(1280, 900)
    browser.driver.execute_script("window.scrollTo(0, 0)")


def stat(browser, key: str) -> str:
    return browser.find(f"#report-summary [data-key={key}] dd").get_attribute("data-value")


def wait_for_the_funnel(browser, expected: dict[str, int]) -> None:
    """The report's read model is fed by events: refresh until the chart shows every expected count."""
    def shown():
        if browser.driver.execute_script(ENTERED) == expected:
            return True
        browser.driver.execute_script("document.getElementById('report-refresh')?.click()")
        return False
    try:
        wait_for(shown, timeout=20, interval=1, message="the funnel chart's entered counts")
    except Exception:
        raise AssertionError(f"the chart shows {browser.driver.execute_script(ENTERED)}, expected {expected}") from None


def team_order(browser, ids: list[str]) -> list[str]:
    rows = [r.get_attribute("data-user") for r in browser.all("#team-table tbody tr")]
    return [r for r in rows if r in ids]


def test_the_reports_page_shows_the_funnel_the_trend_and_the_team(sized, sales):
    browser = sized
    admin_id, manager_id = sales["user"]["id"], sales["manager"]["id"]
    browser.log_in_as(sales["tokens"])
    browser.open("/board")
    browser.find("#user-menu-button")
    # the top bar's entry opens the page
    link = browser.find("#nav-reports")
    assert link.text == "Отчёты"
    link.click()
    browser.until(lambda: browser.path.startswith("/reports"), message="the reports page")
    assert browser.find("#reports-page h1").text == "Отчёты"
    assert browser.find("#nav-reports").get_attribute("aria-current") == "page"
    wait_for_the_funnel(browser, sales["expected"])
    first = browser.find(f"#funnel-chart g[data-stage-id='{sales['first']['id']}'] .stage-figures")
    assert first.text.startswith("5 ·"), first.text
    assert sales["first"]["name"] in browser.find("#funnel-chart").get_attribute("aria-label")
    assert browser.find("#funnel-chart").get_attribute("role") == "img"
    # the summary: 5 created, 3 won, 1 lost, 4 000 000 сум won
    browser.until(lambda: stat(browser, "won") == "3", message="3 won in the summary")
    assert stat(browser, "created") == "5" and stat(browser, "lost") == "1"
    assert browser.find("#report-summary [data-key=won] dd").text == "3"
    assert browser.find("#report-summary [data-key=lost] dd").text == "1"
    amount = browser.find("#report-summary [data-key=won_amount] dd").text
    assert re.sub(r"\D", "", amount) == "4000000" and amount.endswith("сум"), amount
    assert stat(browser, "win_rate") not in ("", None)
    # the trend: won and lost by week (Mondays), 3 and 1 in all
    browser.find("#trend-chart")
    trend = browser.driver.execute_script(TREND)
    assert trend["won"] == 3 and trend["lost"] == 1 and set(trend["mondays"]) == {1}, trend
    assert browser.find("#trend-chart").get_attribute("aria-label").startswith("Выигранные и проигранные по неделям")

    # the team: both people, sorted by name first; a header sorts ascending, then descending
    browser.find(f"#team-table tbody tr[data-user='{manager_id}']")
    assert browser.find(f"#team-table tr[data-user='{manager_id}'] td[data-col=won]").text == "2"
    assert browser.find(f"#team-table tr[data-user='{admin_id}'] td[data-col=won]").text == "1"
    assert browser.find(f"#team-table tr[data-user='{admin_id}'] td[data-col=lost]").text == "1"
    assert browser.find("#team-table th[data-col=name]").get_attribute("aria-sort") == "ascending"
    browser.click("#team-table th[data-col=won] button")
    browser.until(lambda: browser.find("#team-table th[data-col=won]").get_attribute("aria-sort") == "ascending",
                  message="sorted by won, ascending")
    assert browser.find("#team-table th[data-col=name]").get_attribute("aria-sort") is None
    assert team_order(browser, [admin_id, manager_id]) == [admin_id, manager_id]
    browser.click("#team-table th[data-col=won] button")
    browser.until(lambda: browser.find("#team-table th[data-col=won]").get_attribute("aria-sort") == "descending",
                  message="sorted by won, descending")
    assert team_order(browser, [admin_id, manager_id]) == [manager_id, admin_id]
    assert "sort=won" in browser.path and "dir=desc" in browser.path
    shots(browser, "reports")

    # the responsible filter narrows the report; the link reproduces the view (filter and sort)
    Select(browser.find("#report-controls select[name=responsible_id]")).select_by_value(manager_id)
    browser.until(lambda: stat(browser, "created") == "2" and stat(browser, "won") == "2",
                  message="the manager's deals only")
    assert f"responsible_id={manager_id}" in browser.path
    link = browser.path
    browser.open(link)
    browser.until(lambda: stat(browser, "won") == "2", message="the manager's report after a reload")
    assert browser.find("#report-controls select[name=responsible_id]").get_attribute("value") == manager_id
    assert browser.find("#team-table th[data-col=won]").get_attribute("aria-sort") == "descending"
    assert team_order(browser, [admin_id, manager_id]) == [manager_id, admin_id]
    Select(browser.find("#report-controls select[name=responsible_id]")).select_by_value("")
    browser.until(lambda: stat(browser, "won") == "3", message="everyone's deals again")

    # a CSV download is a fetch with the bearer token (a plain link would not send it)
    browser.driver.execute_script(SPY)
    browser.click("#funnel-csv")
    calls = browser.until(lambda: [c for c in browser.driver.execute_script("return window.__calls")
                                   if "/api/v1/reports/funnel.csv" in c["url"]], message="the CSV's request")
    assert calls[0]["auth"], calls
    browser.click("#team-csv")
    browser.until(lambda: [c for c in browser.driver.execute_script("return window.__calls")
                           if "/api/v1/reports/team.csv" in c["url"] and c["auth"]], message="the team CSV's request")
    time.sleep(0.5)
    assert not browser.all("#reports-page .csv-error .alert"), [e.text for e in browser.all(".csv-error")]
    csv = sales["api"].get("/api/v1/reports/funnel.csv")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv"), csv.text[:300]

    # Uzbek: the top bar's entry, the headings, the column headers
    browser.click("#user-menu-button")
    browser.click("#user-menu [data-lang=uz]")
    browser.text("#nav-reports", "Hisobotlar")
    assert browser.find("#reports-page h1").text == "Hisobotlar"
    assert browser.find("#funnel-report-title").text == "Savdo voronkasi"
    assert browser.find("#team-report-title").text == "Jamoa"
    assert browser.find("#team-table th[data-col=won]").text.startswith("Yutilgan")
    assert browser.find("#report-summary [data-key=created] dt").text == "Yaratilgan bitimlar"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} — \d\d\.\d\d\.\d{4} \(.+\)", browser.find("#report-period").text)
    browser.click("#user-menu-button")
    browser.gone("#user-menu")
    assert_accessible(browser, "the reports page in Uzbek")
    shots(browser, "reports_uz")


def test_without_view_reports_the_report_is_of_ones_own_deals(sized, sales, system):
    browser = sized
    resp = Api(system.gateway_url()).post("/api/v1/auth/login", json={"email": sales["manager"]["email"],
                                                                      "password": "pass-1234"})
    assert resp.status_code == 200, resp.text
    me = Api(system.gateway_url()).as_user(resp.json()["access_token"]).get("/api/v1/me").json()
    assert me["role"]["permissions"].get("view_reports") is False, me["role"]
    browser.log_in_as(resp.json())
    browser.open("/reports")
    browser.find("#report-own-only")
    assert not browser.all("#report-controls select[name=responsible_id]")
    wait_for(lambda: browser.driver.execute_script("return document.querySelector("
                                                   "'#report-summary [data-key=won] dd')?.dataset.value") == "2"
             or browser.driver.execute_script("document.getElementById('report-refresh')?.click()"),
             timeout=20, interval=1, message="the manager's own two won deals")
    assert stat(browser, "created") == "2" and stat(browser, "lost") == "0"
    rows = [r.get_attribute("data-user") for r in browser.all("#team-table tbody tr")]
    assert rows == [sales["manager"]["id"]], rows
    # a link naming someone else still shows one's own deals (the page does not ask for others'); the API
    # refuses such a request
    browser.open(f"/reports?responsible_id={sales['user']['id']}")
    browser.find("#report-own-only")
    browser.until(lambda: stat(browser, "won") == "2", message="one's own deals")
    forbidden = Api(system.gateway_url()).as_user(resp.json()["access_token"]).get(
        f"/api/v1/reports/funnel?responsible_id={sales['user']['id']}")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden", forbidden.text
    shots(browser, "reports_own_deals")


def test_a_bad_custom_period_shows_the_apis_error(sized, sales):
    browser = sized
    browser.log_in_as(sales["tokens"])
    browser.open("/reports?period=custom&from=2026-12-05&to=2026-12-01")
    assert browser.find("#report-controls input[name=from]").get_attribute("value") == "2026-12-05"
    alert = browser.find("#funnel-error .alert.error")
    assert alert.text, alert
    assert not browser.all("#funnel-chart")
    # a date that does not exist: the API's error is shown (next to the field it names, or above the report)
    browser.open("/reports?period=custom&from=2026-02-30&to=2026-03-01")
    browser.until(lambda: browser.all("#funnel-error .alert.error") or browser.all("[data-field=from] .field-error"),
                  message="the bad date's error")
    # a period with no deals: the empty state
    browser.open("/reports?period=custom&from=2020-01-01&to=2020-01-31")
    browser.find("#report-empty")
    assert stat(browser, "created") == "0"
