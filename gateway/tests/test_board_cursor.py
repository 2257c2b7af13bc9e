"""The board's per-column cursor: the list's own cursor (the one codec) after the column's last deal, only
when the stage holds more than the column shows, and declared in the OpenAPI document."""

from __future__ import annotations

import datetime as _dt
import uuid

import pytest
from crm.records.v1 import records_service_pb2 as rpb
from crm_platform.pagination import decode_cursor


@pytest.fixture()
def client(keys, monkeypatch):
    from crm_gateway.app import create_app
    from crm_gateway.config import GatewaySettings
    from crm_platform.auth import ACCESS, TokenSigner, read_key

    app = create_app(GatewaySettings(identity_addr="127.0.0.1:9", auth_public_key=keys["access_public"]))
    token = TokenSigner(read_key(keys["access_private"])).sign(
        typ=ACCESS, company_id=str(uuid.uuid4()), user_id=str(uuid.uuid4()), ttl=_dt.timedelta(minutes=5),
        permissions=["admin"])
    http = app.test_client()
    return lambda path: http.get(path, headers={"Authorization": f"Bearer {token}"})


def _deal(n: int) -> rpb.Deal:
    return rpb.Deal(id=f"d{n}", title=f"Deal {n}", amount="1.00", amount_tiyin=100, funnel_id="f", stage_id="s",
                    responsible_id="u", created_at=f"2026-12-03T10:00:0{n}.123456Z", updated_at="2026-12-03T10:00:00Z")


def _board(monkeypatch, columns):
    from crm_gateway.blueprints import records

    seen = {}

    def board(funnel_id, per_stage):
        seen["per_stage"] = per_stage
        return rpb.GetBoardResponse(columns=columns)

    monkeypatch.setattr(records.clients, "board", board)
    return seen


def test_a_column_with_more_deals_than_shown_has_the_lists_cursor_after_its_last(client, monkeypatch):
    full = rpb.BoardColumn(stage_id="s1", count=5, amount_tiyin=500, deals=[_deal(3), _deal(2)])
    exact = rpb.BoardColumn(stage_id="s2", count=2, amount_tiyin=200, deals=[_deal(5), _deal(4)])
    short = rpb.BoardColumn(stage_id="s3", count=1, amount_tiyin=100, deals=[_deal(1)])
    empty = rpb.BoardColumn(stage_id="s4")
    seen = _board(monkeypatch, [full, exact, short, empty])
    resp = client("/api/v1/board?funnel_id=f&per_stage=2")
    assert resp.status_code == 200, resp.text
    assert seen["per_stage"] == 2
    cursors = [c["next_cursor"] for c in resp.json["columns"]]
    assert cursors[1:] == [None, None, None]
    value, row_id = decode_cursor(cursors[0], "-created_at", _dt.datetime, str)  # as GET /deals reads it
    assert row_id == "d2"
    assert value == _dt.datetime(2026, 12, 3, 10, 0, 2, 123456, tzinfo=_dt.UTC)


def test_the_column_cursor_is_declared_in_the_openapi_document():
    from crm_gateway.openapi import build_document

    column = build_document()["components"]["schemas"]["BoardColumn"]
    assert "next_cursor" in column["properties"]
    assert "next_cursor" not in column.get("required", [])
    assert {"type": "null"} in column["properties"]["next_cursor"]["anyOf"]
    assert {"type": "string"} in column["properties"]["next_cursor"]["anyOf"]
