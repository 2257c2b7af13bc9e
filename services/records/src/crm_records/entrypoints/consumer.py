"""Records' event consumers: pipeline's funnel and field changes, identity's deactivations and new companies;
records' own deal events into the reports' read model.

`consumer` (idempotent, one group): moves records out of removed stages and drops the stage cache;
hands a deactivated user's open deals, clients and tasks over (`service_layer.deactivation`); keeps
each company's time zone (identity's CompanyCreated: what "today" of the task lists means).
`reports` (idempotent, group `records.reports`): keeps the reports' read model (`service_layer.report_feed`)
from records' own deal events, in each deal's order.
`CacheInvalidator` (every API process, its own group, newest events only): drops that process's
stage cache (stage contexts, funnels' stages) when pipeline announces a change, so rules edited by an
admin apply at once and a renamed or added stage shows on the board.
"""

from __future__ import annotations

import logging
import threading
import uuid

from crm.identity.events.v1 import identity_events_pb2 as iev
from crm.pipeline.events.v1 import pipeline_events_pb2 as pev
from crm.records.events.v1 import records_events_pb2 as rev
from crm_platform import kafka_auth
from crm_platform.context import Principal
from crm_platform.messaging import IdempotentConsumer, Subscription, TopicManager
from crm_platform.topics import topic_of
from crm_records.adapters.directory import StageDirectory, UserDirectory
from crm_records.adapters.orm import PROCESSED
from crm_records.service_layer import report_feed
from crm_records.service_layer.services import RecordsService

log = logging.getLogger(__name__)

# FieldsChanged covers any field definition or stage rule change (the agreed contract).
STAGE_EVENTS = {c.DESCRIPTOR.full_name: c for c in (pev.FunnelChanged, pev.FieldsChanged)}
# A user renamed, reactivated or deactivated (UserUpdated names the changed fields, `active` among them).
USER_EVENTS = {c.DESCRIPTOR.full_name: c for c in (iev.UserUpdated, iev.UserDeactivated)}


def subscriptions(svc: RecordsService) -> list[Subscription]:
    """Event type -> handler, in one place."""

    def on_funnel_changed(s, msg: pev.FunnelChanged) -> None:
        cid = msg.metadata.company_id
        svc.stages.invalidate(cid)
        system = Principal(company_id=cid, user_id="system", kind="service")
        kinds = [msg.entity] if msg.entity in ("deal", "client") else ["deal", "client"]
        for removed in msg.removed_stages:
            if not removed.target_stage_id:
                continue
            for kind in kinds:
                n = svc.move_out_of_stage(s, system, kind, removed.stage_id, removed.target_stage_id)
                log.info("moved %d %s records out of removed stage %s", n, kind, removed.stage_id)

    def on_fields_changed(s, msg) -> None:
        svc.stages.invalidate(msg.metadata.company_id)

    def on_user_deactivated(s, msg: iev.UserDeactivated) -> None:
        meta = msg.metadata
        actor = Principal(company_id=meta.company_id, user_id=meta.actor_id or "system", kind="service")
        successor, deals, clients, tasks = svc.hand_over(s, actor, msg.user_id)
        log.info("deactivated user %s: %d deals, %d clients, %d tasks handed over to %s", msg.user_id, deals,
                 clients, tasks, successor or "nobody")

    def on_company_created(s, msg: iev.CompanyCreated) -> None:
        svc.remember_company(s, msg.metadata.company_id, msg.time_zone)

    return [Subscription(pev.FunnelChanged, on_funnel_changed), Subscription(pev.FieldsChanged, on_fields_changed),
            Subscription(iev.UserDeactivated, on_user_deactivated),
            Subscription(iev.CompanyCreated, on_company_created)]


# The group (and the consumer's name in processed_events) from before it read identity's events too:
# renamed, it would apply every retained FunnelChanged again.
CONSUMER_GROUP = "records.funnel-changes"
REPORTS_GROUP = "records.reports"


def make_consumer(svc: RecordsService, bootstrap: str, group: str = CONSUMER_GROUP) -> IdempotentConsumer:
    return IdempotentConsumer(svc.db, PROCESSED, bootstrap, group, subscriptions(svc))


def report_subscriptions() -> list[Subscription]:
    """Records' own deal events, into the reports' read model: a poll's events of one company together (one
    transaction, the days written once), else one by one."""
    return [Subscription(cls, report_feed.apply_event, batch_handler=report_feed.apply_events)
            for cls in (rev.DealCreated, rev.DealStageChanged, rev.DealResponsibleChanged, rev.DealUpdated,
                        rev.DealDeleted, rev.DealRestored)]


def make_reports_consumer(svc: RecordsService, bootstrap: str, group: str = REPORTS_GROUP) -> IdempotentConsumer:
    return IdempotentConsumer(svc.db, PROCESSED, bootstrap, group, report_subscriptions())


class CacheInvalidator:
    """Drop a process's cached stage contexts, funnels' stages and users when pipeline or identity announce
    a change.

    Every API process listens in a group of its own (a broadcast), from the newest events on. While
    it is not listening (starting, joining, broker down) the caches keep nothing: a change announced
    then would go unnoticed (`listening` is the directories' `trusted`).
    """

    def __init__(self, stages: StageDirectory, users: UserDirectory, bootstrap: str):
        self.stages = stages
        self.users = users
        self.bootstrap = bootstrap
        self.group = f"records-cache-{uuid.uuid4().hex[:12]}"
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        from kafka import KafkaConsumer

        topics = sorted({topic_of(c) for c in (*STAGE_EVENTS.values(), *USER_EVENTS.values())})
        while not self.stop_event.is_set():
            consumer = None
            try:
                TopicManager(self.bootstrap).ensure(topics)
                # metadata_max_age: a topic created just now may be missing from the first metadata the
                # consumer gets; it must be noticed (and assigned) within seconds, not kafka's 5 minutes
                consumer = KafkaConsumer(*topics, bootstrap_servers=self.bootstrap.split(","),
                                         group_id=self.group, enable_auto_commit=True, auto_offset_reset="latest",
                                         session_timeout_ms=10000, heartbeat_interval_ms=1000,
                                         metadata_max_age_ms=5000, **kafka_auth.client_config())
                while not self.stop_event.is_set():
                    batch = consumer.poll(timeout_ms=300)
                    if {tp.topic for tp in consumer.assignment()} >= set(topics):
                        self.ready.set()
                    else:
                        self.ready.clear()
                    for records in batch.values():
                        for record in records:
                            self._handle(record)
            except Exception as exc:  # noqa: BLE001 - keep listening after broker failures
                self.ready.clear()
                log.warning("cache invalidator: %s; reconnecting", exc)
                self.stop_event.wait(1.0)
            finally:
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:  # noqa: BLE001
                        pass

    def listening(self) -> bool:
        """True while every topic's partitions are assigned to this listener."""
        return self.ready.is_set()

    def _handle(self, record) -> None:
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        event_type = headers.get("event_type", "")
        cls = STAGE_EVENTS.get(event_type) or USER_EVENTS.get(event_type)
        if cls is None:
            return
        try:
            message = cls.FromString(record.value)
        except Exception:  # noqa: BLE001 - unreadable: nothing to drop
            return
        company_id = message.metadata.company_id
        if not company_id:
            return
        if event_type in STAGE_EVENTS:
            self.stages.invalidate(company_id)
        else:
            self.users.invalidate(company_id, message.user_id)
