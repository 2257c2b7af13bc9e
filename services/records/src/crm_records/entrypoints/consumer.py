"""Records' event consumers: pipeline's funnel and field changes.

`consumer` (idempotent, one group): moves records out of removed stages and drops the stage cache.
`CacheInvalidator` (every API process, its own group, newest events only): drops that process's
stage cache when pipeline announces a change, so rules edited by an admin apply at once.
"""

from __future__ import annotations

import logging
import threading
import uuid

from crm.pipeline.events.v1 import pipeline_events_pb2 as pev
from crm_platform.context import Principal
from crm_platform.messaging import IdempotentConsumer, Subscription, TopicManager
from crm_records.adapters.directory import StageDirectory
from crm_records.adapters.orm import PROCESSED
from crm_records.service_layer.services import RecordsService

log = logging.getLogger(__name__)

FUNNEL_TOPIC = "crm.pipeline.funnel.v1"
# FieldsChanged covers any field definition or stage rule change (the agreed contract).
INVALIDATING = {c.DESCRIPTOR.full_name: c for c in (pev.FunnelChanged, pev.FieldsChanged)}


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

    return [Subscription(FUNNEL_TOPIC, pev.FunnelChanged, on_funnel_changed),
            Subscription(FUNNEL_TOPIC, pev.FieldsChanged, on_fields_changed)]


def make_consumer(svc: RecordsService, bootstrap: str) -> IdempotentConsumer:
    return IdempotentConsumer(svc.db, PROCESSED, bootstrap, "records.funnel-changes", subscriptions(svc))


class CacheInvalidator:
    """Drop a process's cached stage contexts when pipeline announces a change (broadcast, no offsets kept)."""

    def __init__(self, stages: StageDirectory, bootstrap: str):
        self.stages = stages
        self.bootstrap = bootstrap
        self.group = f"records-cache-{uuid.uuid4().hex[:12]}"
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        from kafka import KafkaConsumer

        while not self.stop_event.is_set():
            consumer = None
            try:
                TopicManager(self.bootstrap).ensure([FUNNEL_TOPIC])
                consumer = KafkaConsumer(FUNNEL_TOPIC, bootstrap_servers=self.bootstrap.split(","),
                                         group_id=self.group, enable_auto_commit=True, auto_offset_reset="latest",
                                         session_timeout_ms=10000, heartbeat_interval_ms=1000)
                while not self.stop_event.is_set():
                    batch = consumer.poll(timeout_ms=300)
                    if consumer.assignment():
                        self.ready.set()
                    for records in batch.values():
                        for record in records:
                            self._handle(record)
            except Exception as exc:  # noqa: BLE001 - keep listening after broker failures
                log.warning("stage cache invalidator: %s; reconnecting", exc)
                self.stop_event.wait(1.0)
            finally:
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:  # noqa: BLE001
                        pass

    def _handle(self, record) -> None:
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        event_type = headers.get("event_type", "")
        cls = INVALIDATING.get(event_type)
        if cls is None:
            return
        try:
            company_id = cls.FromString(record.value).metadata.company_id
        except Exception:  # noqa: BLE001 - unreadable: nothing to drop
            return
        if company_id:
            self.stages.invalidate(company_id)
