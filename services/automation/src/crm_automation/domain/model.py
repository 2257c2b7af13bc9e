"""Business-process rules with no I/O: what a process may say, which events it matches, the task it makes."""

from __future__ import annotations

import calendar
import datetime as _dt
import zoneinfo
from dataclasses import dataclass

from crm_platform.errors import FieldCollector

TRIGGERS = ("deal.created", "deal.stage_changed", "deal.responsible_changed",
            "client.created", "client.stage_changed", "client.responsible_changed")
STAGE_TRIGGERS = ("deal.stage_changed", "client.stage_changed")
DUE = ("today", "next_day", "week", "month")
ASSIGNEES = ("responsible", "author")
TYPES = ("task",)
GROUPS = ("unprocessed", "in_progress", "failed", "successful")
DEFAULT_TIME_ZONE = "Asia/Tashkent"


@dataclass(frozen=True)
class Definition:
    """A process as an admin wrote it (already trimmed)."""

    name: str
    type: str
    trigger_event: str
    trigger_stage_id: str
    funnel_id: str
    stage_group: str
    due: str
    assignee: str
    task_type: str
    comment: str
    enabled: bool

    @property
    def entity(self) -> str:
        return self.trigger_event.split(".")[0]


def check_definition(d: Definition) -> FieldCollector:
    """Check everything that needs no other service; the caller adds reference checks."""
    errors = FieldCollector()
    if len(d.name) > 100:
        errors.add("name", "too_long", max=100)
    if d.type not in TYPES:
        errors.add("type", "invalid_choice", choices=list(TYPES))
    if d.trigger_event not in TRIGGERS:
        errors.add("trigger.event", "invalid_choice", choices=list(TRIGGERS))
    elif d.trigger_stage_id and d.trigger_event not in STAGE_TRIGGERS:
        errors.add("trigger.stage_id", "not_allowed")
    if d.stage_group and d.stage_group not in GROUPS:
        errors.add("conditions.stage_group", "invalid_choice", choices=list(GROUPS))
    if d.due not in DUE:
        errors.add("due", "invalid_choice", choices=list(DUE))
    if d.assignee not in ASSIGNEES:
        errors.add("assignee", "invalid_choice", choices=list(ASSIGNEES))
    if not d.task_type:
        errors.add("task_type", "required")
    elif len(d.task_type) > 50:
        errors.add("task_type", "too_long", max=50)
    if not d.comment:
        errors.add("comment", "required")
    elif len(d.comment) > 2000:
        errors.add("comment", "too_long", max=2000)
    return errors


@dataclass(frozen=True)
class RecordEvent:
    """What a process needs to know of a record event."""

    event_id: str
    event: str  # e.g. deal.stage_changed
    record_type: str  # deal or client
    record_id: str
    funnel_id: str
    stage_id: str
    stage_group: str
    responsible_id: str
    occurred_at: _dt.datetime
    automated: bool  # caused by a business process


def matches(d: Definition, e: RecordEvent) -> bool:
    """Tell whether process `d` runs for event `e`."""
    if not d.enabled or d.trigger_event != e.event:
        return False
    if d.trigger_stage_id and d.trigger_stage_id != e.stage_id:
        return False
    if d.funnel_id and d.funnel_id != e.funnel_id:
        return False
    return not (d.stage_group and d.stage_group != e.stage_group)


def due_at(occurred_at: _dt.datetime, time_zone: str, due: str) -> _dt.datetime:
    """The end (23:59:59) of the due day in the company's zone, as UTC.

    today: the day of the event; next_day: the day after; week: seven days after; month: the same
    day of the next month (the month's last day when shorter).
    """
    try:
        zone = zoneinfo.ZoneInfo(time_zone or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)
    local = occurred_at.astimezone(zone).date()
    if due == "next_day":
        local += _dt.timedelta(days=1)
    elif due == "week":
        local += _dt.timedelta(days=7)
    elif due == "month":
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        local = _dt.date(year, month, min(local.day, calendar.monthrange(year, month)[1]))
    end = _dt.datetime.combine(local, _dt.time(23, 59, 59), tzinfo=zone)
    return end.astimezone(_dt.timezone.utc)


@dataclass(frozen=True)
class NewTask:
    """The task a process asks records for."""

    process_id: str
    type: str
    comment: str
    due_at: _dt.datetime
    responsible_id: str
    deal_id: str
    client_id: str
    idempotency_key: str  # one task per (process, event), however often the event is delivered


def task_for(process_id: str, author_id: str, d: Definition, e: RecordEvent, time_zone: str) -> NewTask:
    """The task process `d` (by `author_id`) makes for event `e`: for the record's responsible when the process
    says so and the record has one, else for the author; due by the end of the due day in the company's zone."""
    assignee = e.responsible_id if d.assignee == "responsible" and e.responsible_id else author_id
    return NewTask(process_id=process_id, type=d.task_type, comment=d.comment,
                   due_at=due_at(e.occurred_at, time_zone, d.due), responsible_id=assignee,
                   deal_id=e.record_id if e.record_type == "deal" else "",
                   client_id=e.record_id if e.record_type == "client" else "",
                   idempotency_key=f"process:{process_id}:{e.event_id}")
