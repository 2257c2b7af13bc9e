"""Reports end to end (issue 28): deals made, moved, won, lost, deleted and restored through the gateway reach
records' read model by records' own events (the broker, the `records.reports` consumer), and the funnel
and team reports (JSON and CSV) answer exact numbers; the `view_reports` right; bad periods, funnels and
users answer the error format."""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.infra import wait_for
from tests.support.system import Api, sign_up, unique_email

pytestmark = pytest.mark.e2e


def _funnel(c) -> dict:
    return c.get("/api/v1/funnels?entity=deal").json()["items"][0]


def _stage(funnel, group: str) -> str:
    return next(g for g in funnel["groups"] if g["key"] == group)["stages"][0]["id"]


def _deal(c, **body) -> dict:
    resp = c.post("/api/v1/deals", json={"title": "Deal", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _move(c, deal_id: str, stage_id: str) -> None:
    resp = c.patch(f"/api/v1/deals/{deal_id}", json={"stage_id": stage_id})
    assert resp.status_code == 200, resp.text


def _user(api, a, **permissions):
    c = a["api"]
    role = c.post("/api/v1/roles", json={"name": f"R {unique_email()[:8]}", "permissions": permissions})
    assert role.status_code == 201, role.text
    group = c.get("/api/v1/groups").json()["items"][0]
    email = unique_email("m")
    user = c.post("/api/v1/users", json={"first_name": "Dilnoza", "last_name": "Yusupova", "email": email,
                                         "password": "pass-1234", "role_id": role.json()["id"],
                                         "group_id": group["id"]})
    assert user.status_code == 201, user.text
    tokens = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()
    return user.json()["id"], api.as_user(tokens["access_token"])


def _error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()["error"]
    assert body["code"] == code and body["message"], body
    return body


@pytest.fixture(scope="module")
def company(system):
    """A company whose month so far: five live deals (one of a manager), one won, one lost, one deleted and
    restored, one deleted."""
    api = Api(system.gateway_url())
    a = sign_up(api)
    c = a["api"]
    funnel = _funnel(c)
    manager, mc = _user(api, a, edit_phone=True)
    # amounts tell the open deals apart: their sum says which events the read model has applied
    waiting = _deal(c, title="Waiting", amount="1")
    won = _deal(c, title="Won", amount="1000.50")
    _move(c, won["id"], _stage(funnel, "in_progress"))
    _move(c, won["id"], _stage(funnel, "successful"))
    lost = _deal(c, title="Lost", amount="300")
    _move(c, lost["id"], _stage(funnel, "failed"))
    back = _deal(c, title="Back", amount="10")
    assert c.delete(f"/api/v1/deals/{back['id']}").status_code == 200
    assert c.post(f"/api/v1/deals/{back['id']}/restore").status_code == 200
    gone = _deal(c, title="Gone", amount="100")
    assert c.delete(f"/api/v1/deals/{gone['id']}").status_code == 200
    own = _deal(mc, title="Manager's", amount="50")

    def applied() -> bool:  # every deal's events, each deal's in order (won, lost: their last moves)
        team = c.get("/api/v1/reports/team").json()["items"]
        report = c.get("/api/v1/reports/funnel").json()
        return ({row["responsible_id"]: row["open_amount"] for row in team} == {a["user"]["id"]: "11.00",
                                                                                manager: "50.00"}
                and (report["won"], report["lost"]) == (1, 1))

    wait_for(applied, timeout=30, message="the read model holding every event of the month's deals")
    return {"a": a, "c": c, "funnel": funnel, "manager": manager, "mc": mc, "ids": {
        "waiting": waiting["id"], "won": won["id"], "lost": lost["id"], "back": back["id"], "own": own["id"]}}


def test_the_funnel_report_counts_the_month_s_deals_per_stage(company):
    c, funnel = company["c"], company["funnel"]
    r = c.get("/api/v1/reports/funnel").json()
    assert r["funnel_id"] == funnel["id"] and r["time_zone"] == "Asia/Tashkent" and r["responsible_id"] is None
    assert r["from"].endswith("-01") and r["from"] <= r["to"]
    assert [s["stage_id"] for s in r["stages"]] == [s["id"] for g in funnel["groups"] for s in g["stages"]]
    stages = {s["stage_id"]: s for s in r["stages"]}
    first = stages[_stage(funnel, "unprocessed")]
    assert (first["entered"], first["still_here"], first["moved_on"]) == (5, 3, 2)
    assert first["conversion_to_won"] == 0.2 and first["group"] == "unprocessed" and first["color"].startswith("#")
    progress, success, failure = (stages[_stage(funnel, g)] for g in ("in_progress", "successful", "failed"))
    assert (progress["entered"], progress["still_here"], progress["conversion_to_won"]) == (1, 0, 1.0)
    assert (success["entered"], success["still_here"]) == (1, 1)
    assert (failure["entered"], failure["still_here"], failure["conversion_to_won"]) == (1, 1, 0.0)
    assert (r["created"], r["won"], r["lost"], r["win_rate"]) == (5, 1, 1, 0.5)
    assert (r["won_amount"], r["won_amount_tiyin"]) == ("1000.50", 100050)
    assert 0 <= r["average_days_to_win"] < 1
    assert sum(w["won"] for w in r["weeks"]) == 1 and sum(w["lost"] for w in r["weeks"]) == 1
    assert all(w["week_start"] <= r["to"] for w in r["weeks"])


def test_one_responsible_s_funnel_and_the_team_table(company):
    c, manager = company["c"], company["manager"]
    only = c.get(f"/api/v1/reports/funnel?responsible_id={manager}").json()
    assert (only["responsible_id"], only["created"], only["won"]) == (manager, 1, 0)
    team = c.get("/api/v1/reports/team").json()
    rows = {row["responsible_id"]: row for row in team["items"]}
    admin = rows[company["a"]["user"]["id"]]
    assert (admin["name"], admin["open_deals"], admin["won"], admin["won_amount"], admin["lost"]) == (
        "Aziz Karimov", 2, 1, "1000.50", 1)
    assert admin["open_amount"] == "11.00"
    assert admin["win_rate"] == 0.5 and admin["overdue_tasks"] == 0
    assert (rows[manager]["name"], rows[manager]["open_deals"], rows[manager]["open_amount"],
            rows[manager]["win_rate"]) == ("Dilnoza Yusupova", 1, "50.00", None)


def test_without_view_reports_a_user_reports_on_their_own_deals(api, company):
    mc, manager = company["mc"], company["manager"]
    own = mc.get("/api/v1/reports/funnel").json()
    assert (own["responsible_id"], own["created"]) == (manager, 1)
    _error(mc.get(f"/api/v1/reports/funnel?responsible_id={company['a']['user']['id']}"), 403, "forbidden")
    assert [row["responsible_id"] for row in mc.get("/api/v1/reports/team").json()["items"]] == [manager]
    # the right, given by a role, shows the whole team
    _, hc = _user(api, company["a"], view_reports=True)
    assert hc.get("/api/v1/me").json()["role"]["permissions"]["view_reports"] is True
    assert hc.get("/api/v1/reports/funnel").json()["created"] == 5
    assert len(hc.get("/api/v1/reports/team").json()["items"]) >= 2


def test_the_reports_as_csv_for_a_spreadsheet(company):
    c, funnel = company["c"], company["funnel"]
    resp = c.get("/api/v1/reports/funnel.csv", headers={"Accept-Language": "ru"})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["Этап", "Группа", "Вошли", "Остались", "Ушли дальше", "Конверсия в успех"]
    assert len(rows) == 1 + sum(len(g["stages"]) for g in funnel["groups"])
    assert rows[1][1:] == ["Необработанные", "5", "3", "2", "20.0%"]
    team = list(csv.reader(io.StringIO(c.get("/api/v1/reports/team.csv",
                                             headers={"Accept-Language": "uz"}).content.decode("utf-8-sig"))))
    assert team[0][0] == "Mas’ul" and ["Aziz Karimov", "2", "11.00", "1", "1000.50", "1", "50.0%", "0"] in team


def test_a_bad_period_funnel_or_user_answers_the_error_format_and_the_document_lists_the_paths(api, company):
    c = company["c"]
    _error(c.get("/api/v1/reports/funnel?from=2026-11-30&to=2026-11-01"), 422, "invalid_period")
    _error(c.get("/api/v1/reports/team?from=2023-01-01&to=2026-01-01"), 422, "period_too_long")
    _error(c.get("/api/v1/reports/funnel.csv?from=2023-01-01&to=2026-01-01"), 422, "period_too_long")
    body = _error(c.get("/api/v1/reports/funnel?from=31.12.2026"), 422, "validation_failed")
    assert [(f["field"], f["code"]) for f in body["details"]["fields"]] == [("from", "invalid_date")]
    _error(c.get("/api/v1/reports/funnel?funnel_id=00000000-0000-4000-8000-000000000000"), 404, "funnel_not_found")
    client_funnel = c.get("/api/v1/funnels?entity=client").json()["items"][0]["id"]
    _error(c.get(f"/api/v1/reports/team?funnel_id={client_funnel}"), 404, "funnel_not_found")
    _error(c.get("/api/v1/reports/funnel?responsible_id=00000000-0000-4000-8000-000000000000"), 404,
           "user_not_found")
    ru = _error(c.get("/api/v1/reports/funnel?from=2026-11-30&to=2026-11-01", headers={"Accept-Language": "uz"}),
                422, "invalid_period")
    assert ru["message"] == "Davr boshi uning oxiridan keyin."
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"/api/v1/reports/funnel", "/api/v1/reports/team", "/api/v1/reports/funnel.csv",
            "/api/v1/reports/team.csv"} <= set(paths)
    assert "text/csv" in paths["/api/v1/reports/team.csv"]["get"]["responses"]["200"]["content"]
    assert api.get("/reports").status_code == 200  # the web UI's page
