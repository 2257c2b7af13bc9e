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
from crm_records.adapters.orm import ReportDay, ReportDeal, ReportHeld, ReportStay
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
    """A deal's stays while one event changes them: their counts before, and the days moved by the change."""

    def __init__(self, s: Session, row: ReportDeal):
        self.s, self.row = s, row
        self.zone = _zone(s, row.company_id)
        self.stays = list(s.execute(select(ReportStay).where(ReportStay.company_id == row.company_id,
                                                             ReportStay.deal_id == row.id)
                                    .order_by(ReportStay.entered_at, ReportStay.id)).scalars())
        self.delta: dict[Key, Counter] = defaultdict(Counter)
        self._add(-1)

    def _add(self, sign: int) -> None:
        for stay in self.stays:
            for key, values in counts(stay, self.zone).items():
                for name, v in values.items():
                    self.delta[key][name] += sign * v

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

    def save(self) -> None:
        """Add the stays' new counts and write every day, and every stage's holding, that moved."""
        self._add(+1)
        dialect = self.s.get_bind().dialect.name
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        insert = upsert(ReportDay)
        held: dict[tuple, Counter] = defaultdict(Counter)
        for (funnel_id, day, stage_id, group, responsible), values in self.delta.items():
            held[(funnel_id, stage_id, group, responsible)].update(
                held=values.get("entries", 0) - values.get("exits", 0),
                held_won=values.get("entries_won", 0) - values.get("exits_won", 0),
                held_amount=values.get("held_amount", 0))
            values = {k: v for k, v in values.items() if v and k != "held_amount"}
            if not values:
                continue
            row = {name: 0 for name in ("entries", "firsts", "firsts_won", "exits", "entries_won", "exits_won",
                                        "created", "reached", "reached_amount")}
            row.update(values, reached_days=values.get("reached_days", 0.0))
            stmt = insert.values(company_id=self.row.company_id, funnel_id=funnel_id, day=day,
                                 stage_id=stage_id, responsible_id=responsible, stage_group=group, **row)
            self.s.execute(stmt.on_conflict_do_update(
                index_elements=["company_id", "funnel_id", "day", "stage_id", "responsible_id"],
                set_={name: getattr(ReportDay, name) + stmt.excluded[name] for name in values}))
        for (funnel_id, stage_id, group, responsible), values in held.items():
            if not any(values.values()):
                continue
            stmt = upsert(ReportHeld).values(company_id=self.row.company_id, funnel_id=funnel_id, stage_id=stage_id,
                                             responsible_id=responsible, stage_group=group, **{
                                                 name: values[name] for name in HELD})
            self.s.execute(stmt.on_conflict_do_update(
                index_elements=["company_id", "funnel_id", "stage_id", "responsible_id"],
                set_={name: getattr(ReportHeld, name) + stmt.excluded[name] for name in HELD}))


def _zone(s: Session, company_id: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(TaskUseCases.time_zone(s, company_id))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(model.DEFAULT_TIME_ZONE)


def _deal(s: Session, msg) -> tuple[ReportDeal, DealStays, bool]:
    """The deal's row and stays; made from the event's snapshot (third: True) when the deal is new here."""
    snap, cid = msg.deal, msg.metadata.company_id
    row = s.get(ReportDeal, snap.id)
    new = row is None
    if new:
        row = ReportDeal(id=snap.id, company_id=cid, funnel_id=snap.funnel_id, stage_group=snap.stage_group_key,
                         responsible_id=snap.responsible_id, amount=snap.amount_tiyin, created_at=_at(msg),
                         deleted=False)
        s.add(row)
    return row, DealStays(s, row), new


def on_created(s: Session, msg: ev.DealCreated) -> None:
    _, stays, new = _deal(s, msg)
    if new:
        stays.enter(msg, created=True)
    stays.save()


def on_stage_changed(s: Session, msg: ev.DealStageChanged) -> None:
    row, stays, new = _deal(s, msg)
    if not new:  # (a deal new to the read model joins it in the stage it is in now)
        at = _at(msg)
        for stay in stays.stays:
            if stay.left_at is None:
                stay.left_at = at
                if stay.stage_group in FINAL_GROUPS:
                    stay.reopened_at = at
        row.funnel_id, row.stage_group = msg.deal.funnel_id, msg.deal.stage_group_key
        row.amount, row.responsible_id = msg.deal.amount_tiyin, msg.deal.responsible_id
    stays.enter(msg, created=False)
    stays.save()


def _change(s: Session, msg, **values) -> None:
    """Set `values` on the deal's row and on every one of its stays."""
    row, stays, new = _deal(s, msg)
    if new:
        stays.enter(msg, created=False)
    for target in (row, *stays.stays):
        for name, value in values.items():
            setattr(target, name, value)
    stays.save()


def on_responsible_changed(s: Session, msg: ev.DealResponsibleChanged) -> None:
    """Reports follow the deal's current responsible: all its stays move with it."""
    _change(s, msg, responsible_id=msg.deal.responsible_id)


def on_updated(s: Session, msg: ev.DealUpdated) -> None:
    """The won sums are of the deal's current amount."""
    _change(s, msg, amount=msg.deal.amount_tiyin)


def on_deleted(s: Session, msg: ev.DealDeleted) -> None:
    """A deleted deal leaves every report (and comes back, stays and all, when restored)."""
    _change(s, msg, deleted=True)


def on_restored(s: Session, msg: ev.DealRestored) -> None:
    _change(s, msg, deleted=False)
