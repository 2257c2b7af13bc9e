"""Reports: a deal funnel's stages in a period (entered, still there, moved on, conversion to won; created,
won, lost, win rate, won amount, days to win, weeks) and the team's results, as JSON and as CSV.

The figures come from records' read model (`crm_records.service_layer.reports` says what each counts).
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel, Field

from crm_gateway.api import Api, Schema
from crm_gateway.clients import records as clients
from crm_gateway.errors import language
from crm_gateway.messages import csv_column, group_name

bp = Blueprint("reports", __name__)
api = Api(bp, "reports")

PERIOD_DOC = "Days in the company's time zone, both included; at most three years"
# checked by records (`invalid_date`, `date_out_of_range`, beside the period's own errors): stated in the
# document only (a day from 1970-01-01 to 2999-12-31; empty: the default)
_MONTH_DAY = r"((0[13578]|1[02])-(0[1-9]|[12]\d|3[01])|(0[469]|11)-(0[1-9]|[12]\d|30)|02-(0[1-9]|1\d|2[0-8]))"
_LEAP_YEAR = r"(197[26]|198[048]|199[26]|2\d(0[48]|[2468][048]|[13579][26])|2[048]00)"
DAY = {"pattern": rf"^((19[7-9]\d|2\d{{3}})-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)?$"}  # exactly the days records takes


# ---- schemas -------------------------------------------------------------------------------------
class TeamQuery(Schema):
    funnel_id: str = Field("", max_length=64, description="A deal funnel; empty: the company's first")
    from_: str = Field("", alias="from", max_length=10, json_schema_extra=DAY,
                       description="YYYY-MM-DD, 1970-01-01 to 2999-12-31; empty: the first day of this month")
    to: str = Field("", max_length=10, json_schema_extra=DAY, description="YYYY-MM-DD, included, 1970-01-01 to 2999-12-31; empty: today")


class FunnelQuery(TeamQuery):
    responsible_id: str = Field("", max_length=64, description="Only this user's deals (others' need view_reports)")


class StageFigures(BaseModel):
    stage_id: str
    name: str
    color: str
    group: str
    entered: int = Field(description="Distinct deals in the stage at some time in the period (a final stage: "
                                     "that got there in it)")
    still_here: int = Field(description="Of those, in the stage when the period ended")
    moved_on: int = Field(description="Of those, gone from it by then")
    conversion_to_won: float | None = Field(description="Share of `entered` that have reached a successful "
                                                        "stage since they came into this one (to date); null "
                                                        "when none entered")


class WeekFigures(BaseModel):
    week_start: str = Field(description="The week's Monday")
    won: int
    lost: int
    won_amount: str
    won_amount_tiyin: int


class FunnelReport(BaseModel):
    funnel_id: str
    from_: str = Field(alias="from")
    to: str
    time_zone: str
    responsible_id: str | None
    stages: list[StageFigures]
    created: int
    won: int
    lost: int
    win_rate: float | None = Field(description="won / (won + lost); null when neither")
    won_amount: str
    won_amount_tiyin: int
    average_days_to_win: float | None
    weeks: list[WeekFigures]


class ResponsibleFigures(BaseModel):
    responsible_id: str
    name: str
    open_deals: int
    open_amount: str
    open_amount_tiyin: int
    won: int
    won_amount: str
    won_amount_tiyin: int
    lost: int
    win_rate: float | None
    overdue_tasks: int


class TeamReport(BaseModel):
    funnel_id: str
    from_: str = Field(alias="from")
    to: str
    time_zone: str
    items: list[ResponsibleFigures]


# ---- proto -> JSON -------------------------------------------------------------------------------
def _money(tiyin: int) -> str:
    return f"{tiyin // 100}.{tiyin % 100:02d}"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def funnel_json(r) -> dict:
    return {"funnel_id": r.funnel_id, "from": r.from_date, "to": r.to_date, "time_zone": r.time_zone,
            "responsible_id": r.responsible_id or None,
            "stages": [{"stage_id": s.stage.id, "name": s.stage.name, "color": s.stage.color,
                        "group": s.stage.group_key, "entered": s.entered, "still_here": s.still_here,
                        "moved_on": s.moved_on, "conversion_to_won": _share(s.won_later, s.entered)}
                       for s in r.stages],
            "created": r.created, "won": r.won, "lost": r.lost, "win_rate": _share(r.won, r.won + r.lost),
            "won_amount": _money(r.won_amount_tiyin), "won_amount_tiyin": r.won_amount_tiyin,
            "average_days_to_win": r.average_days_to_win if r.HasField("average_days_to_win") else None,
            "weeks": [{"week_start": w.week_start, "won": w.won, "lost": w.lost,
                       "won_amount": _money(w.won_amount_tiyin), "won_amount_tiyin": w.won_amount_tiyin}
                      for w in r.weeks]}


def team_json(r) -> dict:
    return {"funnel_id": r.funnel_id, "from": r.from_date, "to": r.to_date, "time_zone": r.time_zone,
            "items": [{"responsible_id": t.user.id, "name": t.user.name, "open_deals": t.open_deals,
                       "open_amount": _money(t.open_amount_tiyin), "open_amount_tiyin": t.open_amount_tiyin,
                       "won": t.won, "won_amount": _money(t.won_amount_tiyin), "won_amount_tiyin": t.won_amount_tiyin,
                       "lost": t.lost, "win_rate": _share(t.won, t.won + t.lost), "overdue_tasks": t.overdue_tasks}
                      for t in r.rows]}


def _csv(rows: list[list], name: str) -> Response:
    """UTF-8 with a BOM (Excel then reads Cyrillic and Uzbek right)."""
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return Response(out.getvalue(), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


# ---- views ---------------------------------------------------------------------------------------
FUNNEL_CODES = {403: ("forbidden",), 404: ("funnel_not_found", "user_not_found"),
                422: ("invalid_period", "period_too_long")}
TEAM_CODES = {404: ("funnel_not_found",), 422: ("invalid_period", "period_too_long")}


def _funnel(query: FunnelQuery) -> dict:
    return funnel_json(clients.funnel_report(query.funnel_id, query.from_, query.to, query.responsible_id))


def _team(query: TeamQuery) -> dict:
    return team_json(clients.team_report(query.funnel_id, query.from_, query.to))


@api.operation("GET", "/api/v1/reports/funnel", "A deal funnel's stages in a period: entered, still there, "
               "moved on, conversion to won; created, won, lost, win rate, won amount, days to win, weeks",
               query=FunnelQuery, response=FunnelReport, errors=(403, 404, 422), codes=FUNNEL_CODES,
               description=PERIOD_DOC + ". Without the role right `view_reports` the report is of the caller's "
                                        "own deals.")
def funnel(query: FunnelQuery):
    return jsonify(_funnel(query))


@api.operation("GET", "/api/v1/reports/funnel.csv", "The funnel report as CSV (one row a stage)",
               query=FunnelQuery, errors=(403, 404, 422), codes=FUNNEL_CODES, produces="text/csv",
               description=PERIOD_DOC + ". Column names in the Accept-Language language; UTF-8 with a BOM.")
def funnel_csv(query: FunnelQuery):
    r, lang = _funnel(query), language()
    keys = ("stage", "group", "entered", "still_here", "moved_on", "conversion_to_won")
    rows = [[csv_column(k, lang) for k in keys]]
    rows += [[s["name"], group_name(s["group"], lang), s["entered"], s["still_here"], s["moved_on"],
              _percent(s["conversion_to_won"])] for s in r["stages"]]
    return _csv(rows, f"funnel-{r['from']}-{r['to']}.csv")


@api.operation("GET", "/api/v1/reports/team", "Per responsible user: open deals and their sum now, the "
               "period's won (count, sum) and lost, win rate, overdue tasks", query=TeamQuery, response=TeamReport,
               errors=(404, 422), codes=TEAM_CODES,
               description=PERIOD_DOC + ". Without the role right `view_reports`: the caller's row only.")
def team(query: TeamQuery):
    return jsonify(_team(query))


@api.operation("GET", "/api/v1/reports/team.csv", "The team report as CSV (one row a responsible user)",
               query=TeamQuery, errors=(404, 422), codes=TEAM_CODES, produces="text/csv",
               description=PERIOD_DOC + ". Column names in the Accept-Language language; UTF-8 with a BOM.")
def team_csv(query: TeamQuery):
    r, lang = _team(query), language()
    keys = ("responsible", "open_deals", "open_amount", "won", "won_amount", "lost", "win_rate", "overdue_tasks")
    rows = [[csv_column(k, lang) for k in keys]]
    rows += [[t["name"], t["open_deals"], t["open_amount"], t["won"], t["won_amount"], t["lost"],
              _percent(t["win_rate"]), t["overdue_tasks"]] for t in r["items"]]
    return _csv(rows, f"team-{r['from']}-{r['to']}.csv")
