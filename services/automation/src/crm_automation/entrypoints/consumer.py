"""Automation's consumer: record events in, the processes they match run (tasks in records).

One idempotent consumer group (`CONSUMER_GROUP`); several replicas share the record topics'
partitions. The topics are the ones the subscribed events' contracts name. Events are read into
the domain's `RecordEvent` here, so the service layer never sees a records message.
"""

from __future__ import annotations

import datetime as _dt

from crm.identity.events.v1 import identity_events_pb2 as iev
from crm.records.events.v1 import records_events_pb2 as rev
from crm_platform.db import utcnow
from crm_platform.messaging import FETCH_MAX_WAIT_MS, IdempotentConsumer, Subscription
from crm_automation.adapters.orm import PLATFORM
from crm_automation.domain import model
from crm_automation.service_layer.services import AutomationService

CONSUMER_GROUP = "automation.record-triggers"

# The record events processes run on: event class -> (trigger name, record type).
RECORD_EVENTS = {
    rev.DealCreated: ("deal.created", "deal"), rev.DealStageChanged: ("deal.stage_changed", "deal"),
    rev.DealResponsibleChanged: ("deal.responsible_changed", "deal"),
    rev.ClientCreated: ("client.created", "client"), rev.ClientStageChanged: ("client.stage_changed", "client"),
    rev.ClientResponsibleChanged: ("client.responsible_changed", "client"),
}


def to_record_event(message) -> model.RecordEvent | None:
    """Read what processes need from a records event (None for an event processes do not run on)."""
    kind = RECORD_EVENTS.get(type(message))
    if kind is None:
        return None
    snap = message.deal if kind[1] == "deal" else message.client
    occurred = message.metadata.occurred_at.ToDatetime(tzinfo=_dt.timezone.utc) \
        if message.metadata.HasField("occurred_at") else utcnow()
    return model.RecordEvent(event_id=message.metadata.event_id, event=kind[0], record_type=kind[1],
                             record_id=snap.id, funnel_id=snap.funnel_id, stage_id=snap.stage_id,
                             stage_group=snap.stage_group_key, responsible_id=snap.responsible_id,
                             occurred_at=occurred, automated=message.source == rev.CHANGE_SOURCE_AUTOMATION)


def subscriptions(svc: AutomationService) -> list[Subscription]:
    """Every event automation handles, with its handler (and batch handler)."""

    def on_company_created(s, message: iev.CompanyCreated) -> None:
        svc.remember_company(s, message.metadata.company_id, message.time_zone)

    def on_record_event(s, message) -> None:
        event = to_record_event(message)
        if event is not None:
            svc.run_for_event(s, message.metadata.company_id, event)

    def on_record_events(s, messages: list) -> set[str]:
        """Many events of one company (the consumer groups them so)."""
        events = [e for e in map(to_record_event, messages) if e is not None]
        return svc.run_for_events(s, messages[0].metadata.company_id, events) if events else set()

    return [Subscription(iev.CompanyCreated, on_company_created),
            *(Subscription(cls, on_record_event, on_record_events) for cls in RECORD_EVENTS)]


def on_dead_letter(svc: AutomationService):
    """The consumer's hook after an event's last attempt: its runs are shown failed."""

    def park(message, error: str) -> None:
        event = to_record_event(message)
        if event is not None:
            svc.park_failed(message.metadata.company_id, event, error)

    return park


def make_consumer(svc: AutomationService, bootstrap: str, *, max_attempts: int | None = None,
                  backoff: float = 0.2, group: str = CONSUMER_GROUP) -> IdempotentConsumer:
    """The process runner; an event's runs are tried `max_attempts` times (the service's `run_attempts`)
    before the event is parked and its runs failed."""
    return IdempotentConsumer(svc.db, PLATFORM["processed_events"], bootstrap, group, subscriptions(svc),
                              max_attempts=max_attempts or svc.run_attempts, backoff=backoff,
                              on_dead_letter=on_dead_letter(svc),
                              fetch_max_wait_ms=FETCH_MAX_WAIT_MS)  # event->task latency is a goal
