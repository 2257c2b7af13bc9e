"""The board's per-column cursor through the real system: it pages the column with the deals list's own
cursor (GET /deals?stage_id=), newest first as on the board, to the stage's last deal."""

from __future__ import annotations

import pytest

from tests.support.system import sign_up

pytestmark = pytest.mark.e2e


def test_a_board_column_pages_on_through_the_deals_list(api):
    c = sign_up(api)["api"]
    funnel = c.get("/api/v1/funnels?entity=deal").json()["items"][0]
    first = funnel["groups"][0]["stages"][0]["id"]
    second = next(g for g in funnel["groups"] if g["key"] == "in_progress")["stages"][0]["id"]
    made = []
    for i in range(5):
        resp = c.post("/api/v1/deals", json={"title": f"Deal {i}", "stage_id": first})
        assert resp.status_code == 201, resp.text
        made.append(resp.json()["id"])
    assert c.post("/api/v1/deals", json={"title": "Other", "stage_id": second}).status_code == 201
    board = c.get(f"/api/v1/board?funnel_id={funnel['id']}&per_stage=2")
    assert board.status_code == 200, board.text
    columns = {col["stage"]["id"]: col for col in board.json()["columns"]}
    column = columns[first]
    assert [d["id"] for d in column["deals"]] == made[::-1][:2]
    assert columns[second]["next_cursor"] is None  # all its deals are shown
    seen, cursor = [d["id"] for d in column["deals"]], column["next_cursor"]
    while cursor:
        page = c.get(f"/api/v1/deals?stage_id={first}&limit=2&cursor={cursor}")
        assert page.status_code == 200, page.text
        seen += [d["id"] for d in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert seen == made[::-1]
    # a column that shows all its deals has no cursor
    whole = c.get(f"/api/v1/board?funnel_id={funnel['id']}&per_stage=5").json()
    assert all(col["next_cursor"] is None for col in whole["columns"])
