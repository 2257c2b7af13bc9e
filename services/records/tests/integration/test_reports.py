"""Reports over real gRPC (pipeline and identity as real processes), on SQLite and PostgreSQL: the read model
is fed deal events at chosen times (the consumer's handlers, `report_feed`, as `records.reports` applies them)
and the funnel and team reports answer exact numbers for a company built here: deals created before and in
the period, moved, won, lost, deleted and restored, at the edges of the company's days (Asia/Tashkent,
UTC+5), for everyone and for one responsible user, with and without the `view_reports` right."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest

from crm.common.v1 import events_pb2 as cev
from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm.records.events.v1 import records_events_pb2 as ev
from crm.records.v1 import records_service_pb2 as pb
from crm_platform.errors import decode_error
from crm_records.service_layer import report_feed as feed

UTC = dt.UTC


def _funnel(records, company, entity: str = "deal"):
    stub = pgrpc.PipelineServiceStub(grpc.insecure_channel(records["neighbours"]["pipeline"]))
    return stub.ListFunnels(ppb.ListFunnelsRequest(entity=entity), metadata=company.md()).funnels[0]


class Deals:
    """Deal events of one company at chosen times, applied as the reports' consumer applies them."""

    def __init__(self, records, company, funnel):
        self.db, self.company = records["db"], company
        self.funnel = funnel
        self.stage = {g.key: g.stages[0] for g in funnel.groups}
        self.stage["in_progress_2"] = funnel.groups[1].stages[1]
        self.state: dict[str, ev.DealSnapshot] = {}
        self.batch: list | None = None

    def event(self, cls, deal_id: str, at: dt.datetime):
        ts = cev.EventMetadata(event_id=str(uuid.uuid4()), company_id=self.company.id, aggregate_id=deal_id)
        ts.occurred_at.FromDatetime(at)
        return cls(metadata=ts, deal=ev.DealSnapshot.FromString(self.state[deal_id].SerializeToString()))

    def _apply(self, cls, deal_id: str, at: dt.datetime) -> None:
        """One event, as the consumer applies it one by one; `batch` collects them for one poll instead."""
        msg = self.event(cls, deal_id, at)
        if self.batch is not None:
            self.batch.append(msg)
            return
        with self.db.session(company_id=self.company.id, write=True) as s:
            feed.apply_event(s, msg)

    def flush(self) -> None:
        """Apply the collected events together, as the consumer's batch handler gets a poll's."""
        with self.db.session(company_id=self.company.id, write=True) as s:
            assert feed.apply_events(s, self.batch) == set()
        self.batch = None

    def create(self, at: dt.datetime, stage: str = "unprocessed", amount: int = 0, responsible: str = "") -> str:
        deal_id = str(uuid.uuid4())
        st = self.stage[stage]
        self.state[deal_id] = ev.DealSnapshot(id=deal_id, title="D", amount_tiyin=amount, funnel_id=self.funnel.id,
                                              stage_id=st.id, stage_group_key=stage.removesuffix("_2"),
                                              responsible_id=responsible or self.company.admin_id)
        self._apply(ev.DealCreated, deal_id, at)
        return deal_id

    def move(self, deal_id: str, at: dt.datetime, stage: str) -> None:
        snap = self.state[deal_id]
        st = self.stage[stage]
        snap.stage_id, snap.stage_group_key = st.id, stage.removesuffix("_2")
        self._apply(ev.DealStageChanged, deal_id, at)

    def amount(self, deal_id: str, at: dt.datetime, tiyin: int) -> None:
        self.state[deal_id].amount_tiyin = tiyin
        self._apply(ev.DealUpdated, deal_id, at)

    def hand(self, deal_id: str, at: dt.datetime, user_id: str) -> None:
        self.state[deal_id].responsible_id = user_id
        self._apply(ev.DealResponsibleChanged, deal_id, at)

    def delete(self, deal_id: str, at: dt.datetime) -> None:
        self._apply(ev.DealDeleted, deal_id, at)

    def restore(self, deal_id: str, at: dt.datetime) -> None:
        self._apply(ev.DealRestored, deal_id, at)


def t(day: str, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hh, minute=mm, tzinfo=UTC)


def _funnel_report(records, company, frm="2026-11-01", to="2026-11-30", responsible="", token=None, funnel_id=""):
    return records["stub"].GetFunnelReport(pb.GetFunnelReportRequest(
        period=pb.ReportPeriod(funnel_id=funnel_id, from_date=frm, to_date=to), responsible_id=responsible),
        metadata=company.md(token))


def _by_group(report) -> dict[str, tuple[int, int, int, int]]:
    """The first stage of each group (and the second in progress) -> entered, still_here, moved_on, won_later."""
    out, seen = {}, {}
    for s in report.stages:
        key = s.stage.group_key
        if key in seen and key == "in_progress" and "in_progress_2" not in out:
            key = "in_progress_2"
        elif key in seen:
            continue
        seen[s.stage.group_key] = True
        out[key] = (s.entered, s.still_here, s.moved_on, s.won_later)
    return out


@pytest.fixture()
def november(records, company):
    """Deals of a company around November 2026 (UTC+5: the month is 2026-10-31T19:00Z to 2026-11-30T19:00Z)."""
    deals = Deals(records, company, _funnel(records, company))
    other, other_token = company.add_user()
    d = {}
    d["won"] = deals.create(t("2026-10-20"), amount=10_000)         # sat in unprocessed when November began
    deals.move(d["won"], t("2026-11-05"), "in_progress")
    deals.move(d["won"], t("2026-11-20"), "successful")              # 31 days after its creation
    d["lost"] = deals.create(t("2026-11-02"), amount=5_000)
    deals.move(d["lost"], t("2026-11-03"), "in_progress")
    deals.move(d["lost"], t("2026-11-10"), "failed")
    d["last_minute"] = deals.create(t("2026-11-30", 18, 59))         # 23:59 on 30 November in Tashkent
    d["next_day"] = deals.create(t("2026-11-30", 19, 0))             # 00:00 on 1 December there
    d["old_win"] = deals.create(t("2026-10-01"))
    deals.move(d["old_win"], t("2026-10-15"), "successful")          # won before: not November's
    d["deleted"] = deals.create(t("2026-11-03"))
    deals.move(d["deleted"], t("2026-11-04"), "in_progress")
    deals.delete(d["deleted"], t("2026-11-06"))
    d["other"] = deals.create(t("2026-11-05"), amount=7_000, responsible=other)
    d["eve"] = deals.create(t("2026-10-31", 18, 59))                 # 23:59 on 31 October there: sat in it
    return {"deals": deals, "ids": d, "other": other, "other_token": other_token}


def test_the_funnel_report_counts_each_stage_of_the_period_in_the_company_s_days(records, company, november):
    r = _funnel_report(records, company)
    assert (r.from_date, r.to_date, r.time_zone) == ("2026-11-01", "2026-11-30", "Asia/Tashkent")
    assert [s.stage.id for s in r.stages] == [s.id for g in november["deals"].funnel.groups for s in g.stages]
    # unprocessed: won (sat), lost, last_minute, other, eve (sat); the deleted one is left out
    assert _by_group(r) == {"unprocessed": (5, 3, 2, 1), "in_progress": (2, 0, 2, 1), "in_progress_2": (0, 0, 0, 0),
                            "failed": (1, 1, 0, 0), "successful": (1, 1, 0, 1)}
    assert (r.created, r.won, r.lost, r.won_amount_tiyin) == (3, 1, 1, 10_000)
    assert r.average_days_to_win == pytest.approx(31.0)
    weeks = {w.week_start: (w.won, w.lost, w.won_amount_tiyin) for w in r.weeks}
    assert list(weeks) == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]
    assert weeks["2026-11-16"] == (1, 0, 10_000) and weeks["2026-11-09"] == (0, 1, 0)
    assert sum(w.won + w.lost for w in r.weeks) == 2


def test_a_day_of_the_period_begins_and_ends_at_the_company_s_midnight(records, company, november):
    december = _funnel_report(records, company, "2026-12-01", "2026-12-01")
    assert december.created == 1  # next_day: 00:00 on 1 December in Tashkent, 19:00 UTC the day before
    last_day = _funnel_report(records, company, "2026-11-30", "2026-11-30")
    assert last_day.created == 1  # last_minute
    assert not last_day.HasField("average_days_to_win") and last_day.won == 0
    eve = _funnel_report(records, company, "2026-10-31", "2026-10-31")
    assert eve.created == 1  # eve, 23:59 there


def test_a_deleted_deal_leaves_the_report_and_a_restored_one_returns(records, company, november):
    deals, d = november["deals"], november["ids"]
    deals.restore(d["deleted"], t("2026-12-02"))
    r = _funnel_report(records, company)
    assert r.created == 4
    groups = _by_group(r)
    assert groups["unprocessed"][0] == 6 and groups["in_progress"][:2] == (3, 1)  # still in progress at the end
    deals.delete(d["won"], t("2026-12-03"))
    r = _funnel_report(records, company)
    assert (r.won, r.won_amount_tiyin) == (0, 0)


def test_the_report_follows_the_deal_s_current_responsible_and_amount(records, company, november):
    deals, d, other = november["deals"], november["ids"], november["other"]
    only = _funnel_report(records, company, responsible=other)
    assert (only.responsible_id, only.created) == (other, 1)
    assert _by_group(only)["unprocessed"] == (1, 1, 0, 0)
    deals.hand(d["won"], t("2026-12-01"), other)
    deals.amount(d["won"], t("2026-12-01"), 12_345)
    only = _funnel_report(records, company, responsible=other)
    assert (only.won, only.won_amount_tiyin, _by_group(only)["unprocessed"][0]) == (1, 12_345, 2)


def test_the_team_report_gives_each_responsible_their_results(records, company, november):
    other = november["other"]
    stub = records["stub"]
    stub.CreateTask(pb.CreateTaskRequest(type="call", due_at="2026-01-01T09:00:00Z", responsible_id=other),
                    metadata=company.md())
    r = stub.GetTeamReport(pb.GetTeamReportRequest(period=pb.ReportPeriod(from_date="2026-11-01",
                                                                        to_date="2026-11-30")),
                           metadata=company.md())
    rows = {row.user.id: row for row in r.rows}
    admin = rows[company.admin_id]
    # open now: last_minute, next_day, eve (the deleted one is not counted)
    assert (admin.open_deals, admin.won, admin.won_amount_tiyin, admin.lost) == (3, 1, 10_000, 1)
    assert (rows[other].open_deals, rows[other].open_amount_tiyin, rows[other].overdue_tasks) == (1, 7_000, 1)
    assert rows[other].user.name == "Olga Li"
    # a user without view_reports sees their own row only
    own = stub.GetTeamReport(pb.GetTeamReportRequest(), metadata=company.md(november["other_token"]))
    assert [row.user.id for row in own.rows] == [other]


def _refused(call) -> tuple[grpc.StatusCode, dict]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), decode_error(info.value.trailing_metadata())


def test_without_view_reports_a_user_sees_only_their_own_deals(records, company, november):
    token, other = november["other_token"], november["other"]
    own = _funnel_report(records, company, token=token)
    assert (own.responsible_id, own.created) == (other, 1)
    code, err = _refused(lambda: _funnel_report(records, company, responsible=company.admin_id, token=token))
    assert (code, err["code"], err["details"]["permission"]) == (grpc.StatusCode.PERMISSION_DENIED, "forbidden",
                                                                 "view_reports")


@pytest.mark.parametrize("frm,to,code,field", [
    ("2026-11-30", "2026-11-01", "invalid_period", None),
    ("2023-01-01", "2026-01-01", "period_too_long", None),
    ("2026-13-01", "", "validation_failed", {"field": "from", "code": "invalid_date", "params": {}}),
    ("01.11.2026", "", "validation_failed", {"field": "from", "code": "invalid_date", "params": {}}),
    ("1969-12-31", "", "validation_failed", {"field": "from", "code": "date_out_of_range",
                                             "params": {"min": "1970-01-01", "max": "2999-12-31"}}),
    ("2999-12-01", "3000-01-01", "validation_failed", {"field": "to", "code": "date_out_of_range",
                                                       "params": {"min": "1970-01-01", "max": "2999-12-31"}}),
])
def test_a_period_the_report_cannot_cover_is_refused(records, company, frm, to, code, field):
    got, err = _refused(lambda: _funnel_report(records, company, frm, to))
    assert (got, err["code"]) == (grpc.StatusCode.INVALID_ARGUMENT, code)
    if field:
        assert err["details"]["fields"] == [field]


def test_three_years_to_the_day_before_is_a_period_still(records, company):
    assert _funnel_report(records, company, "2023-01-01", "2025-12-31").from_date == "2023-01-01"


def test_an_unknown_funnel_a_client_funnel_or_an_unknown_user_is_not_found(records, company):
    client_funnel = _funnel(records, company, "client")
    for funnel_id in (str(uuid.uuid4()), client_funnel.id):
        code, err = _refused(lambda: _funnel_report(records, company, funnel_id=funnel_id))
        assert (code, err["code"]) == (grpc.StatusCode.NOT_FOUND, "funnel_not_found")
    code, err = _refused(lambda: _funnel_report(records, company, responsible=str(uuid.uuid4())))
    assert (code, err["code"]) == (grpc.StatusCode.NOT_FOUND, "user_not_found")


def test_a_deal_that_comes_back_to_a_stage_counts_once_and_a_second_win_is_the_same_won_deal(records, company):
    deals = Deals(records, company, _funnel(records, company))
    d = deals.create(t("2026-11-02"), amount=900)
    for day, stage in (("2026-11-03", "in_progress"), ("2026-11-04", "unprocessed"), ("2026-11-05", "in_progress"),
                       ("2026-11-06", "successful"), ("2026-11-07", "in_progress"), ("2026-11-08", "successful")):
        deals.move(d, t(day), stage)
    back = deals.create(t("2026-11-02"))
    deals.move(back, t("2026-11-03"), "in_progress")
    deals.move(back, t("2026-11-20"), "unprocessed")  # sits there again from the 20th
    again = deals.create(t("2026-10-01"), amount=100)  # won in October, reopened, won again in November
    for day, stage in (("2026-10-05", "successful"), ("2026-10-10", "in_progress"), ("2026-11-15", "successful")):
        deals.move(again, t(day), stage)
    r = _funnel_report(records, company)
    groups = _by_group(r)
    assert groups["unprocessed"] == (2, 1, 1, 1)  # d (won after), back (here at the end): once each
    assert groups["in_progress"] == (3, 0, 3, 2) and groups["successful"] == (2, 2, 0, 2)
    # again: 45 days from its creation to its first win in November
    assert (r.created, r.won, r.won_amount_tiyin, r.average_days_to_win) == (2, 2, 1000, 24.5)
    assert sum(w.won for w in r.weeks) == 2
    late = _funnel_report(records, company, "2026-11-10", "2026-11-30")
    # back's first stay there ended before the 10th: its return on the 20th is its first in this period
    assert _by_group(late)["unprocessed"] == (1, 1, 0, 0)
    # d won again on the 8th, before it; again's win on the 15th is in it; back and again sat in progress
    assert (late.won, _by_group(late)["successful"][0], _by_group(late)["in_progress"]) == (1, 1, (2, 0, 2, 1))
    december = _funnel_report(records, company, "2026-12-01", "2026-12-31")
    assert _by_group(december)["successful"][0] == 0 and _by_group(december)["unprocessed"] == (1, 1, 0, 0)


def test_the_days_are_always_the_sum_of_the_stays_whatever_the_events(records, company):
    """Random events of many deals (moves back and forth, wins, reopenings, deletes, restores, new responsibles
    and amounts), one by one and a poll's together: report_days and report_held stay exactly what records'
    own counts of the stays add up to."""
    import random
    import zoneinfo
    from collections import Counter, defaultdict

    from sqlalchemy import select

    from crm_records.adapters.orm import ReportDay, ReportHeld, ReportStay, ReportWeek

    deals = Deals(records, company, _funnel(records, company))
    other, _ = company.add_user()
    rnd = random.Random(7)
    clock = t("2026-09-01")
    alive = {}
    for i in range(240):
        if i % 40 == 20:  # the second half of every 40 events as one poll's, together (the batch handler)
            deals.batch = []
        elif i % 40 == 0 and deals.batch is not None:
            deals.flush()
        clock += dt.timedelta(hours=rnd.randrange(1, 40))
        action = rnd.random()
        if not alive or action < 0.2:
            alive[deals.create(clock, amount=rnd.randrange(100, 10_000))] = False
            continue
        deal = rnd.choice(list(alive))
        if action < 0.7:
            deals.move(deal, clock, rnd.choice(["unprocessed", "in_progress", "in_progress_2", "failed", "successful"]))
        elif action < 0.8:
            (deals.restore if alive[deal] else deals.delete)(deal, clock)
            alive[deal] = not alive[deal]
        elif action < 0.9:
            deals.hand(deal, clock, rnd.choice([other, company.admin_id]))
        else:
            deals.amount(deal, clock, rnd.randrange(100, 10_000))
    if deals.batch is not None:
        deals.flush()
    zone = zoneinfo.ZoneInfo("Asia/Tashkent")
    with records["db"].session(company_id=company.id) as s:
        want: dict = defaultdict(Counter)
        for stay in s.execute(select(ReportStay).where(ReportStay.company_id == company.id)).scalars():
            for key, values in feed.counts(stay, zone).items():
                want[key].update(values)
        days = {(d.funnel_id, d.day, d.stage_id, d.stage_group, d.responsible_id): d
                for d in s.execute(select(ReportDay).where(ReportDay.company_id == company.id)).scalars()}
        held = {(h.funnel_id, h.stage_id, h.responsible_id): h
                for h in s.execute(select(ReportHeld).where(ReportHeld.company_id == company.id)).scalars()}
        weeks = {(w.funnel_id, w.week, w.stage_id, w.stage_group, w.responsible_id): w
                 for w in s.execute(select(ReportWeek).where(ReportWeek.company_id == company.id)).scalars()}
    names = ("entries", "firsts", "firsts_won", "exits", "entries_won", "exits_won", "created", "reached",
             "reached_amount")
    for key in set(want) | set(days):
        got = {n: getattr(days[key], n) for n in names} if key in days else {n: 0 for n in names}
        assert got == {n: want[key][n] for n in names}, key
        assert (days[key].reached_days if key in days else 0) == pytest.approx(want[key]["reached_days"]), key
    by_week: dict = defaultdict(Counter)
    for (funnel, day, stage, group, responsible), v in want.items():
        by_week[(funnel, feed.monday(day), stage, group, responsible)].update(v)
    for key in set(by_week) | set(weeks):
        got = {n: getattr(weeks[key], n) for n in names} if key in weeks else {n: 0 for n in names}
        assert got == {n: by_week[key][n] for n in names}, key
    holding: dict = defaultdict(Counter)
    for (funnel, _, stage, _, responsible), v in want.items():
        holding[(funnel, stage, responsible)].update(held=v["entries"] - v["exits"], held_amount=v["held_amount"],
                                                     held_won=v["entries_won"] - v["exits_won"])
    for key in set(holding) | set(held):
        got = (held[key].held, held[key].held_won, held[key].held_amount) if key in held else (0, 0, 0)
        assert got == (holding[key]["held"], holding[key]["held_won"], holding[key]["held_amount"]), key
    assert sum(h.held for h in held.values()) == sum(1 for deleted in alive.values() if not deleted)
