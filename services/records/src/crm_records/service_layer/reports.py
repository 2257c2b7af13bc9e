"""Reports over the read model of `report_feed`: a deal funnel's stages in a period, and the team's results.

A period is whole days in the company's time zone, `from` to `to` both included, at most three years. What
each figure counts (deals that are deleted now are left out of every one):

- a stage's `entered`: distinct deals that were in the stage at some time in the period: that came into it
  in the period (created there or moved there), or sat in it when the period began. A deal sits in its final
  stage (failed, successful) for good, so there only the ones that got there in the period count;
- `still_here`: of those, the ones in the stage when the period ended (now, for a period not over yet);
  `moved_on` the rest; `won_later`: the ones that have reached a successful stage since they came into
  this one (to date: a cohort's conversion);
- `created`: deals created in the funnel in the period; `won` / `lost`: distinct deals that reached a
  successful / failed stage in it (their first such entry in it dates them in the weeks, and is what their
  days to win are counted to, from their creation; the sums are of the deals' current amounts);
- the team: per responsible user (the deal's current one), the open deals of the funnel now (unprocessed and
  in progress, with their sum), the period's won and lost, and their open tasks due before now.

Without the `view_reports` right a user's reports are of their own deals (asking for another user's is
`forbidden`). A report sums the days of `report_days`: the period's, and for what sat in an open stage when it
began, the days before it or (`report_held`, what each stage holds now) the days since, whichever are fewer;
so its cost follows the period's length, not the history's (a million deals over three years); it reads
stays only where a deal came back to a stage or group or left a final stage (rare rows, partial indexes),
and never the history.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Integer, and_, case, cast, func, or_, select, text

from crm_platform.context import Principal
from crm_platform.db import utcnow
from crm_platform.errors import FieldCollector, InvalidArgument, NotFound, PermissionDenied
from crm_records.adapters.directory import UserInfo
from crm_records.adapters.orm import ReportDay, ReportHeld, ReportStay, ReportWeek, Task
from crm_records.domain import model
from crm_records.service_layer.tasks import TaskUseCases
from crm_records.service_layer.writes import RecordsBase

OPEN_GROUPS = ("unprocessed", "in_progress")
FINAL_GROUPS = ("failed", "successful")
MAX_YEARS = 3
FIRST_DAY, LAST_DAY = _dt.date(1970, 1, 1), _dt.date(2999, 12, 31)  # the days a period may name


@dataclass(frozen=True)
class Period:
    """Days `first`..`last` (included) in `time_zone`, and the UTC instants they begin and end at."""

    funnel_id: str
    first: _dt.date
    last: _dt.date
    time_zone: str
    start: _dt.datetime
    end: _dt.datetime

    def weeks(self) -> list[tuple[_dt.date, _dt.datetime]]:
        """Each week's Monday and the UTC instant its part of the period ends at."""
        zone = zoneinfo.ZoneInfo(self.time_zone)
        monday = self.first - _dt.timedelta(days=self.first.weekday())
        out = []
        while monday <= self.last:
            nxt = monday + _dt.timedelta(days=7)
            out.append((monday, min(self.end, _midnight(nxt, zone))))
            monday = nxt
        return out


@dataclass
class StageFigures:
    stage: model.BoardStage
    entered: int = 0
    still_here: int = 0
    won_later: int = 0

    @property
    def moved_on(self) -> int:
        return self.entered - self.still_here


@dataclass
class WeekFigures:
    week_start: _dt.date
    won: int = 0
    lost: int = 0
    won_amount: int = 0


@dataclass
class FunnelReport:
    period: Period
    responsible_id: str
    stages: list[StageFigures]
    created: int
    won: int
    lost: int
    won_amount: int
    average_days_to_win: float | None
    weeks: list[WeekFigures]


@dataclass
class TeamRow:
    user: UserInfo | None
    user_id: str
    open_deals: int = 0
    open_amount: int = 0
    won: int = 0
    won_amount: int = 0
    lost: int = 0
    overdue_tasks: int = 0


@dataclass
class TeamReport:
    period: Period
    rows: list[TeamRow] = field(default_factory=list)


def _midnight(day: _dt.date, zone: zoneinfo.ZoneInfo) -> _dt.datetime:
    return _dt.datetime.combine(day, _dt.time(0), tzinfo=zone).astimezone(_dt.UTC)


def _date(errors: FieldCollector, name: str, value: str, default: _dt.date) -> _dt.date:
    if not value:
        return default
    try:
        day = _dt.date.fromisoformat(value) if len(value) == 10 else _dt.date.fromisoformat("invalid")
    except ValueError:
        errors.add(name, "invalid_date")
        return default
    if not FIRST_DAY <= day <= LAST_DAY:
        errors.add(name, "date_out_of_range", min=FIRST_DAY.isoformat(), max=LAST_DAY.isoformat())
        return default
    return day


@contextlib.contextmanager
def _small_reads(s):
    """A report reads a few thousand rows of days by index: on PostgreSQL, without the parallel workers and the
    JIT compilation its row estimates would buy (each costs more to start than the read: 30 ms and 70 ms).
    Read sessions autocommit there, so the settings are the connection's: put back when the report is read.
    Yields the dialect's name."""
    dialect = s.get_bind().dialect.name
    if dialect != "postgresql":
        yield dialect
        return
    s.execute(text("SET max_parallel_workers_per_gather = 0"))
    s.execute(text("SET jit = off"))
    try:
        yield dialect
    finally:
        s.execute(text("RESET max_parallel_workers_per_gather"))
        s.execute(text("RESET jit"))


def _years_later(day: _dt.date, years: int) -> _dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class ReportUseCases(RecordsBase):
    # ---- the request: funnel, period, whose deals ------------------------------------------------------
    def _period(self, p: Principal, funnel_id: str, from_date: str, to_date: str) -> Period:
        with self.db.session(company_id=p.company_id) as s:
            tz_name = TaskUseCases.time_zone(s, p.company_id)
        try:
            zone = zoneinfo.ZoneInfo(tz_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz_name = model.DEFAULT_TIME_ZONE
            zone = zoneinfo.ZoneInfo(tz_name)
        today = utcnow().astimezone(zone).date()
        errors = FieldCollector()
        first = _date(errors, "from", from_date, today.replace(day=1))
        last = _date(errors, "to", to_date, today)
        errors.raise_if_any()
        if first > last:
            raise InvalidArgument("invalid_period", "The period's start is after its end",
                                  **{"from": first.isoformat(), "to": last.isoformat()})
        if last >= _years_later(first, MAX_YEARS):
            raise InvalidArgument("period_too_long", "A report covers at most three years", max_years=MAX_YEARS)
        funnel_id = funnel_id or self._default_funnel(p)
        self._deal_funnel_stages(p, funnel_id)  # 404 funnel_not_found before any query
        return Period(funnel_id, first, last, tz_name, _midnight(first, zone),
                      _midnight(last + _dt.timedelta(days=1), zone))

    def _default_funnel(self, p: Principal) -> str:
        ctx = self.stages.context(p, self.stages.default_stage_id(p, "deal"))
        if ctx is None:
            raise NotFound("funnel_not_found", "The company has no deal funnel")
        return ctx.funnel_id

    def _deal_funnel_stages(self, p: Principal, funnel_id: str) -> tuple[model.BoardStage, ...]:
        stages = self.stages.funnel_stages(p, funnel_id)
        ctx = self.stages.context(p, stages[0].stage_id) if stages else None
        if ctx is None or ctx.entity != "deal":
            raise NotFound("funnel_not_found", "Funnel not found")
        return stages

    def _whose(self, p: Principal, responsible_id: str) -> str:
        """The responsible user the report is limited to: the caller's own deals without view_reports."""
        if not p.can("view_reports"):
            if responsible_id and responsible_id != p.user_id:
                raise PermissionDenied("forbidden", "Your role does not allow this", permission="view_reports")
            return p.user_id
        if responsible_id and not self.users.users(p, {responsible_id}):
            raise NotFound("user_not_found", "User not found")
        return responsible_id

    # ---- the queries ---------------------------------------------------------------------------------
    @staticmethod
    def _came(p: Principal, period: Period, responsible_id: str):
        """Live stays that began in the period."""
        conds = [ReportStay.company_id == p.company_id, ReportStay.funnel_id == period.funnel_id,
                 ReportStay.deleted.is_(False), ReportStay.entered_at >= period.start,
                 ReportStay.entered_at < period.end]
        if responsible_id:
            conds.append(ReportStay.responsible_id == responsible_id)
        return conds

    def _again(self, s, p: Principal, period: Period, responsible_id: str) -> list[ReportStay]:
        """The period's stays that are a deal's first reach of a final group in it although it had reached
        that group before the period (`ix_report_stays_again`; rare: a deal won, reopened and won again)."""
        return list(s.execute(select(ReportStay).where(
            *self._came(p, period, responsible_id), ReportStay.prev_group_entered_at.is_not(None),
            ReportStay.prev_group_entered_at < period.start, ReportStay.stage_group.in_(FINAL_GROUPS))).scalars())

    def _back(self, s, p: Principal, period: Period, responsible_id: str) -> dict[str, tuple[int, int]]:
        """Per stage, the deals back in it in the period that count (and of them, won later): a return counts
        unless the deal's previous stay there already did, in an open stage one it was still in when the period
        began, in a final one one it got to in it (`ix_report_stays_again`: returns only)."""
        counts = or_(and_(ReportStay.stage_group.in_(OPEN_GROUPS), ReportStay.prev_left_at < period.start),
                     and_(ReportStay.stage_group.in_(FINAL_GROUPS), ReportStay.prev_entered_at < period.start))
        rows = s.execute(select(ReportStay.stage_id, func.count(),
                                func.sum(case((ReportStay.won_at.is_not(None), 1), else_=0)))
                         .where(*self._came(p, period, responsible_id), ReportStay.prev_group_entered_at.is_not(None),
                                ReportStay.prev_entered_at.is_not(None), counts)
                         .group_by(ReportStay.stage_id))
        return {sid: (int(n), int(w or 0)) for sid, n, w in rows}

    DAY_SUMS = ("firsts", "firsts_won", "entries", "exits", "entries_won", "exits_won", "created", "reached",
                "reached_amount", "reached_days")

    @staticmethod
    def _week_key(period: Period, column, dialect: str):
        """The week of a day or of a week's Monday (`column`): its index into `period.weeks()`."""
        monday = period.weeks()[0][0]
        if dialect == "postgresql":
            return (column - monday) // 7
        return cast(func.julianday(column) - func.julianday(monday.isoformat()), Integer) // 7

    @staticmethod
    def _spans(lo: _dt.date | None, hi: _dt.date | None) -> list[tuple]:
        """Days `lo`..`hi` (None: unbounded) as (table, its date column, first, last) parts: the whole weeks
        between from `report_weeks`, the days at the edges from `report_days`."""
        first_whole = None if lo is None else lo + _dt.timedelta(days=-lo.weekday() % 7)
        end_whole = None if hi is None else hi - _dt.timedelta(days=(hi.weekday() + 1) % 7)  # a Sunday
        if first_whole is not None and end_whole is not None and first_whole > end_whole:
            return [(ReportDay, ReportDay.day, lo, hi)]
        parts = [(ReportWeek, ReportWeek.week, first_whole,
                  None if end_whole is None else end_whole - _dt.timedelta(days=6))]
        if lo is not None and lo < first_whole:
            parts.append((ReportDay, ReportDay.day, lo, first_whole - _dt.timedelta(days=1)))
        if hi is not None and end_whole < hi:
            parts.append((ReportDay, ReportDay.day, end_whole + _dt.timedelta(days=1), hi))
        return parts

    @staticmethod
    def _of(table, p: Principal, period: Period, responsible_id: str, column=None, lo=None, hi=None):
        conds = [table.company_id == p.company_id, table.funnel_id == period.funnel_id]
        if responsible_id:
            conds.append(table.responsible_id == responsible_id)
        if lo is not None:
            conds.append(column >= lo)
        if hi is not None:
            conds.append(column <= hi)
        return conds

    def day_statements(self, p: Principal, period: Period, responsible_id: str, dialect: str = "postgresql"):
        """Three lists of statements, one per part of `_spans`: the period's counts summed per stage and week
        (what every figure is folded from); and, per open stage, the entries less exits (all, and of deals
        won later) before the period and after it: what sat there when it began is the first, or what it
        holds now less the period's and the later ones (`_sat`)."""
        def came(table, column, lo, hi):
            week = self._week_key(period, column, dialect)
            return (select(table.stage_id, func.min(table.stage_group), week,
                           *[func.sum(getattr(table, name)) for name in self.DAY_SUMS])
                    .where(*self._of(table, p, period, responsible_id, column, lo, hi))
                    .group_by(table.stage_id, week))

        def net(table, column, lo, hi):
            return (select(table.stage_id, func.sum(table.entries - table.exits),
                           func.sum(table.entries_won - table.exits_won))
                    .where(*self._of(table, p, period, responsible_id, column, lo, hi),
                           table.stage_group.in_(OPEN_GROUPS))
                    .group_by(table.stage_id))

        day = _dt.timedelta(days=1)
        return ([came(*part) for part in self._spans(period.first, period.last)],
                [net(*part) for part in self._spans(None, period.first - day)],
                [net(*part) for part in self._spans(period.last + day, None)])

    @staticmethod
    def _net(s, statements) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for statement in statements:
            for sid, n, w in s.execute(statement):
                total = out.setdefault(sid, [0, 0])
                total[0], total[1] = total[0] + int(n or 0), total[1] + int(w or 0)
        return out

    def _sat(self, s, p: Principal, period: Period, responsible_id: str,
             came: dict[str, tuple[str, Counter]]) -> dict[str, tuple[int, int]]:
        """Per open stage, the deals in it when the period began (and of them, the ones won later): from the
        days before it, or from what it holds now less the days since, whichever are fewer days to read."""
        _, before, after = self.day_statements(p, period, responsible_id, s.get_bind().dialect.name)
        first_day = s.execute(select(func.min(ReportDay.day)).where(
            *self._of(ReportDay, p, period, responsible_id))).scalar()
        if first_day is None:
            return {}
        today = utcnow().astimezone(zoneinfo.ZoneInfo(period.time_zone)).date()
        if (period.first - first_day).days <= (today - period.first).days:
            return {sid: (n, w) for sid, (n, w) in self._net(s, before).items()}
        held_q = select(ReportHeld.stage_id, func.sum(ReportHeld.held), func.sum(ReportHeld.held_won)).where(
            ReportHeld.company_id == p.company_id, ReportHeld.funnel_id == period.funnel_id,
            ReportHeld.stage_group.in_(OPEN_GROUPS), *([ReportHeld.responsible_id == responsible_id]
                                                      if responsible_id else [])).group_by(ReportHeld.stage_id)
        out = {sid: [int(n), int(w)] for sid, n, w in s.execute(held_q)}
        since = [(sid, v["entries"] - v["exits"], v["entries_won"] - v["exits_won"])
                 for sid, (group, v) in came.items() if group in OPEN_GROUPS]
        for sid, n, w in since + [(sid, n, w) for sid, (n, w) in self._net(s, after).items()]:
            held = out.setdefault(sid, [0, 0])
            held[0], held[1] = held[0] - int(n), held[1] - int(w)
        return {sid: (n, w) for sid, (n, w) in out.items()}

    def stage_figures(self, s, p: Principal, period: Period, responsible_id: str,
                      came: dict[str, tuple[str, Counter]]) -> dict[str, tuple[int, int, int]]:
        """Per stage: entered, still there at the end, won after coming in (deals), from the period's days
        summed per stage (`came`: stage -> group, sums), the days before it and the rare stays."""
        sat = self._sat(s, p, period, responsible_id, came)
        left_final = dict(s.execute(select(ReportStay.stage_id, func.count())
                                    .where(*self._came(p, period, responsible_id), ReportStay.reopened_at.is_not(None),
                                           ReportStay.reopened_at < period.end)
                                    .group_by(ReportStay.stage_id)).all())
        back = self._back(s, p, period, responsible_id)
        out = {sid: (n, n, w) for sid, (n, w) in sat.items()}
        for sid, (group, v) in came.items():
            held, held_won = sat.get(sid, (0, 0))
            again, again_won = back.get(sid, (0, 0))
            here = held + v["entries"] - v["exits"] if group in OPEN_GROUPS else v["entries"] - left_final.get(sid, 0)
            out[sid] = (int(v["firsts"]) + again + held, int(here), int(v["firsts_won"]) + again_won + held_won)
        return out

    def _reached_again(self, period: Period, again: list[ReportStay], by: str):
        """(`by` value, group, deals, amount, days to win) of the rare stays that are a deal's first reach of a
        final group in the period although it had been in that group before; `by`: "day" or "responsible_id"."""
        zone = zoneinfo.ZoneInfo(period.time_zone)
        for stay in again:
            if stay.stage_group in FINAL_GROUPS and model.aware(stay.prev_group_entered_at) < period.start:
                entered = model.aware(stay.entered_at)
                key = entered.astimezone(zone).date() if by == "day" else stay.responsible_id
                yield key, stay.stage_group, 1, stay.amount, \
                    (entered - model.aware(stay.deal_created_at)).total_seconds() / 86400

    def reached_statements(self, p: Principal, period: Period, responsible_id: str, by: str, dialect: str):
        """The final groups' first reaches in the period (deals, amount, days to win) per week (`by` "week":
        the index into `period.weeks()`) or per responsible user (`by` "responsible_id")."""
        def part(table, column, lo, hi):
            key = self._week_key(period, column, dialect) if by == "week" else table.responsible_id
            return (select(key.label("key"), table.stage_group, func.sum(table.reached),
                           func.sum(table.reached_amount), func.sum(table.reached_days))
                    .where(*self._of(table, p, period, responsible_id, column, lo, hi),
                           table.stage_group.in_(FINAL_GROUPS))
                    .group_by(key, table.stage_group))
        return [part(*span) for span in self._spans(period.first, period.last)]

    def funnel_report(self, p: Principal, funnel_id: str, from_date: str, to_date: str,
                      responsible_id: str = "") -> FunnelReport:
        period = self._period(p, funnel_id, from_date, to_date)
        responsible_id = self._whose(p, responsible_id)
        stages = self._deal_funnel_stages(p, period.funnel_id)
        weeks = [WeekFigures(monday) for monday, _ in period.weeks()]
        with self.db.session(company_id=p.company_id) as s, _small_reads(s) as dialect:
            again = self._again(s, p, period, responsible_id)
            came: dict[str, tuple[str, Counter]] = {}
            reached = []
            for statement in self.day_statements(p, period, responsible_id, dialect)[0]:
                for sid, group, week, *sums in s.execute(statement):
                    v = dict(zip(self.DAY_SUMS, (x or 0 for x in sums)))
                    came.setdefault(sid, (group, Counter()))[1].update(v)
                    if group in FINAL_GROUPS:
                        reached.append((week, group, v["reached"], v["reached_amount"], v["reached_days"]))
            figures = self.stage_figures(s, p, period, responsible_id, came)
        reached += [((day - weeks[0].week_start).days // 7, *rest)
                    for day, *rest in self._reached_again(period, again, "day")]
        totals = {g: [0, 0, 0.0] for g in FINAL_GROUPS}
        for week, group, n, amount, days in reached:
            w = weeks[int(week)]
            if group == "successful":
                w.won, w.won_amount = w.won + int(n), w.won_amount + int(amount)
            else:
                w.lost += int(n)
            totals[group] = [a + b for a, b in zip(totals[group], (int(n), int(amount), float(days or 0)))]
        won, won_amount, days = totals["successful"]
        return FunnelReport(
            period=period, responsible_id=responsible_id,
            stages=[StageFigures(st, *figures.get(st.stage_id, (0, 0, 0))) for st in stages],
            created=int(sum(v["created"] for _, v in came.values())), won=won, lost=totals["failed"][0],
            won_amount=won_amount, average_days_to_win=round(max(days, 0.0) / won, 1) if won else None, weeks=weeks)

    def team_report(self, p: Principal, funnel_id: str, from_date: str, to_date: str) -> TeamReport:
        period = self._period(p, funnel_id, from_date, to_date)
        only = self._whose(p, "")
        rows: dict[str, TeamRow] = {}

        def row(user_id: str) -> TeamRow:
            return rows.setdefault(user_id, TeamRow(None, user_id))

        with self.db.session(company_id=p.company_id) as s, _small_reads(s):
            open_q = (select(ReportHeld.responsible_id, func.sum(ReportHeld.held), func.sum(ReportHeld.held_amount))
                      .where(ReportHeld.company_id == p.company_id, ReportHeld.funnel_id == period.funnel_id,
                             ReportHeld.stage_group.in_(OPEN_GROUPS))
                      .group_by(ReportHeld.responsible_id))
            if only:
                open_q = open_q.where(ReportHeld.responsible_id == only)
            for uid, n, amount in s.execute(open_q):
                if n:
                    r = row(uid)
                    r.open_deals, r.open_amount = int(n), int(amount)
            again = self._again(s, p, period, only)
            reached = [row for statement in self.reached_statements(p, period, only, "responsible_id", "")
                       for row in s.execute(statement)]
            for uid, group, n, amount, _ in reached + list(self._reached_again(period, again, "responsible_id")):
                r = row(uid)
                if group == "successful":
                    r.won, r.won_amount = r.won + int(n), r.won_amount + int(amount)
                else:
                    r.lost += int(n)
            overdue = (select(Task.responsible_id, func.count())
                       .where(Task.company_id == p.company_id, Task.done.is_(False), Task.due_at < utcnow())
                       .group_by(Task.responsible_id))
            if only:
                overdue = overdue.where(Task.responsible_id == only)
            for uid, n in s.execute(overdue):
                row(uid).overdue_tasks = int(n)
        if only:
            row(only)
        users = self.users.users(p, set(rows))
        for uid, r in rows.items():
            r.user = users.get(uid) or UserInfo(uid, "", False)
        ordered = sorted(rows.values(), key=lambda r: (r.user.name.casefold() if r.user else "", r.user_id))
        return TeamReport(period, ordered)
