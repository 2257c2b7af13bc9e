"""The reports' read model, kept from records' own deal events (one idempotent consumer, `records.reports`).

A deal is a row of `report_deals` (funnel, group of its stage, responsible, amount, created, deleted) and a
chain of `report_stays`: each stage it was in, from the event that put it there (`entered_at`, the event's
`occurred_at`) to the one that took it away (`left_at`). The events of one deal come in order (its id is
their key), each once (`processed_events`), so a stay is closed exactly when the next one opens. A new stay
notes the deal's previous stay in the same stage and in the same group, and a stay in a successful stage
dates the win on every earlier stay not won yet.

Each stay counts on the days of `report_days` (in the company's time zone): the day it began and the day it
ended (`counts`), and in `report_held` while it lasts. An event takes the old counts of the deal's stays
away, changes them, and adds their new counts, in its one transaction: the days are always the sum of the
stays.

A deal from before this read model (no row yet) joins it at its first event: its stay in the stage it is in
begins then, and its creation time is taken as that event's (its days to win are counted from there).
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm.records.events.v1 import records_events_pb2 as ev
from crm_records.adapters.orm import ReportDay, ReportDeal, ReportHeld, ReportStay, ReportWeek
from crm_records.domain import model
from crm_records.service_layer.tasks import TaskUseCases

FINAL_GROUPS = ("failed", "successful")
HELD = ("held", "held_won", "held_amount")
Key = tuple[str, _dt.date, str, str, str]  # funnel, day, stage, group, responsible


def _at(msg) -> _dt.datetime:
    return msg.metadata.occurred_at.ToDatetime(tzinfo=_dt.timezone.utc)


def counts(stay: ReportStay, zone: zoneinfo.ZoneInfo) -> dict[Key, Counter]:
    """What one stay adds to the days it began and ended on (nothing, while its deal is deleted)."""
    out: dict[Key, Counter] = defaultdict(Counter)
    if stay.deleted:
        return out
    won = stay.won_at is not None
    entered = model.aware(stay.entered_at)
    day = out[(stay.funnel_id, entered.astimezone(zone).date(), stay.stage_id, stay.stage_group, stay.responsible_id)]
    day["entries"] += 1
    day["entries_won"] += won
    day["held_amount"] += stay.amount  # report_held's only (what the stage holds: entries' less exits' amounts)
    if stay.prev_entered_at is None:
        day["firsts"] += 1
        day["firsts_won"] += won
    day["created"] += bool(stay.created)
    if stay.stage_group in FINAL_GROUPS and stay.prev_group_entered_at is None:
        day["reached"] += 1
        day["reached_amount"] += stay.amount
        day["reached_days"] += (entered - model.aware(stay.deal_created_at)).total_seconds() / 86400
    if stay.left_at is not None:
        left = out[(stay.funnel_id, model.aware(stay.left_at).astimezone(zone).date(), stay.stage_id,
                    stay.stage_group, stay.responsible_id)]
        left["exits"] += 1
        left["exits_won"] += won
        left["held_amount"] -= stay.amount
    return out


class DealStays:
    """A deal's stays while events change them: their counts are taken out of `delta` when loaded and put
    back (new) by `finish`; `new`: the deal was not in the read model before its first event here."""

    def __init__(self, s: Session, row: ReportDeal, stays: list[ReportStay], zone, delta, new: bool):
        self.s, self.row, self.stays, self.zone, self.delta, self.new = s, row, stays, zone, delta, new
        self._add(-1)

    def _add(self, sign: int) -> None:
        for stay in self.stays:
            for key, values in counts(stay, self.zone).items():
                for name, v in values.items():
                    self.delta[key][name] += sign * v

    def finish(self) -> None:
        self._add(+1)

    def enter(self, msg, *, created: bool) -> None:
        """The deal's new stay in the stage of `msg`'s snapshot, after its earlier ones."""
        snap, at = msg.deal, _at(msg)
        same_stage = next((e for e in reversed(self.stays) if e.stage_id == snap.stage_id), None)
        same_group = next((e for e in reversed(self.stays) if e.stage_group == snap.stage_group_key), None)
        won = snap.stage_group_key == "successful"
        if won:
            for stay in self.stays:
                if stay.won_at is None:
                    stay.won_at = at
        stay = ReportStay(company_id=self.row.company_id, deal_id=self.row.id, funnel_id=snap.funnel_id,
                          stage_id=snap.stage_id, stage_group=snap.stage_group_key,
                          responsible_id=self.row.responsible_id, entered_at=at, left_at=None,
                          prev_entered_at=same_stage.entered_at if same_stage else None,
                          prev_left_at=same_stage.left_at if same_stage else None,
                          prev_group_entered_at=same_group.entered_at if same_group else None,
                          won_at=at if won else None, amount=self.row.amount, deal_created_at=self.row.created_at,
                          created=created, deleted=self.row.deleted)
        self.s.add(stay)
        self.stays.append(stay)

    def change(self, **values) -> None:
        """Set `values` on the deal's row and on every one of its stays."""
        for target in (self.row, *self.stays):
            for name, value in values.items():
                setattr(target, name, value)


COUNT_COLUMNS = ("entries", "firsts", "firsts_won", "exits", "entries_won", "exits_won", "created", "reached",
                 "reached_amount", "reached_days")


def monday(day: _dt.date) -> _dt.date:
    return day - _dt.timedelta(days=day.weekday())


def roll_up(delta: dict[Key, Counter]) -> tuple[dict, dict, dict]:
    """A change of counts per day as what it adds to each day, each week and each stage's holding: three
    dicts of (funnel, day | week | -, stage, group, responsible) -> the non-zero counts."""
    days: dict[tuple, Counter] = {}
    weeks: dict[tuple, Counter] = defaultdict(Counter)
    held: dict[tuple, Counter] = defaultdict(Counter)
    for (funnel_id, day, stage_id, group, responsible), values in delta.items():
        held[(funnel_id, stage_id, group, responsible)].update(
            held=values.get("entries", 0) - values.get("exits", 0),
            held_won=values.get("entries_won", 0) - values.get("exits_won", 0),
            held_amount=values.get("held_amount", 0))
        counted = Counter({k: v for k, v in values.items() if v and k != "held_amount"})
        if counted:
            days[(funnel_id, day, stage_id, group, responsible)] = counted
            weeks[(funnel_id, monday(day), stage_id, group, responsible)].update(counted)

    def moved(table: dict) -> dict:
        nonzero = ((key, Counter({k: v for k, v in c.items() if v})) for key, c in table.items())
        return {key: c for key, c in nonzero if c}
    return moved(days), moved(weeks), moved(held)


def write_days(s: Session, company_id: str, delta: dict[Key, Counter]) -> None:
    """Add `delta` to the days, their weeks and what each stage holds: one statement a day (a week, a stage)
    that moved."""
    upsert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    days, weeks, held = roll_up(delta)
    for (funnel_id, day, stage_id, group, responsible), values in days.items():
        _add(s, upsert, ReportDay, company_id, funnel_id, stage_id, group, responsible, values, day=day)
    for (funnel_id, week, stage_id, group, responsible), values in weeks.items():
        _add(s, upsert, ReportWeek, company_id, funnel_id, stage_id, group, responsible, values, week=week)
    for (funnel_id, stage_id, group, responsible), values in held.items():
        _add(s, upsert, ReportHeld, company_id, funnel_id, stage_id, group, responsible, values)


def _add(s: Session, upsert, table, company_id, funnel_id, stage_id, group, responsible, values, **span) -> None:
    """Add `values` to one row of `table` (made with zeros when missing)."""
    names = HELD if table is ReportHeld else COUNT_COLUMNS
    stmt = upsert(table).values(company_id=company_id, funnel_id=funnel_id, stage_id=stage_id,
                                responsible_id=responsible, stage_group=group, **span,
                                **{name: values.get(name, 0) for name in names})
    s.execute(stmt.on_conflict_do_update(
        index_elements=["company_id", "funnel_id", *span, "stage_id", "responsible_id"],
        set_={name: getattr(table, name) + stmt.excluded[name] for name in values}))


def _zone(s: Session, company_id: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(TaskUseCases.time_zone(s, company_id))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(model.DEFAULT_TIME_ZONE)


# ---- what each event does to its deal's stays -------------------------------------------------------
def _created(d: DealStays, msg: ev.DealCreated) -> None:
    if d.new:
        d.enter(msg, created=True)


def _stage_changed(d: DealStays, msg: ev.DealStageChanged) -> None:
    if not d.new:  # (a deal new to the read model joins it in the stage it is in now)
        at = _at(msg)
        for stay in d.stays:
            if stay.left_at is None:
                stay.left_at = at
                if stay.stage_group in FINAL_GROUPS:
                    stay.reopened_at = at
        d.row.funnel_id, d.row.stage_group = msg.deal.funnel_id, msg.deal.stage_group_key
        d.row.amount, d.row.responsible_id = msg.deal.amount_tiyin, msg.deal.responsible_id
    d.enter(msg, created=False)


def _joined(change):
    """An event that changes what a deal is; a deal new to the read model first joins it where it is."""
    def apply(d: DealStays, msg) -> None:
        if d.new:
            d.enter(msg, created=False)
        d.change(**change(msg))
    return apply


APPLY = {
    ev.DealCreated: _created,
    ev.DealStageChanged: _stage_changed,
    # reports follow the deal's current responsible and amount: all its stays move with it
    ev.DealResponsibleChanged: _joined(lambda msg: {"responsible_id": msg.deal.responsible_id}),
    ev.DealUpdated: _joined(lambda msg: {"amount": msg.deal.amount_tiyin}),
    # a deleted deal leaves every report, and comes back, stays and all, when restored
    ev.DealDeleted: _joined(lambda msg: {"deleted": True}),
    ev.DealRestored: _joined(lambda msg: {"deleted": False}),
}


def apply_events(s: Session, messages: list) -> set[str]:
    """Apply deal events (of one company, each deal's in order) in one transaction: their deals' rows and
    stays read with two statements, the days written once for all (the consumer's batch handler; one event
    alone is the one-by-one path). Leaves none undone."""
    if not messages:
        return set()
    company_id = messages[0].metadata.company_id
    ids = list(dict.fromkeys(m.deal.id for m in messages))
    rows = {r.id: r for r in s.execute(select(ReportDeal).where(ReportDeal.id.in_(ids))).scalars()}
    held_stays: dict[str, list[ReportStay]] = defaultdict(list)
    for stay in s.execute(select(ReportStay).where(ReportStay.company_id == company_id, ReportStay.deal_id.in_(ids))
                          .order_by(ReportStay.entered_at, ReportStay.id)).scalars():
        held_stays[stay.deal_id].append(stay)
    zone = _zone(s, company_id)
    delta: dict[Key, Counter] = defaultdict(Counter)
    deals: dict[str, DealStays] = {}
    for msg in messages:
        snap = msg.deal
        d = deals.get(snap.id)
        if d is None:
            row = rows.get(snap.id)
            if row is None:
                row = ReportDeal(id=snap.id, company_id=company_id, funnel_id=snap.funnel_id,
                                 stage_group=snap.stage_group_key, responsible_id=snap.responsible_id,
                                 amount=snap.amount_tiyin, created_at=_at(msg), deleted=False)
                s.add(row)
            d = deals[snap.id] = DealStays(s, row, held_stays.get(snap.id, []), zone, delta, new=snap.id not in rows)
        APPLY[type(msg)](d, msg)
        d.new = False
    for d in deals.values():
        d.finish()
    s.flush()
    write_days(s, company_id, delta)
    return set()


def apply_event(s: Session, msg) -> None:
    """One deal event (the one-by-one path)."""
    apply_events(s, [msg])
