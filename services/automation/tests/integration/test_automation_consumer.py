"""The consumer role against the real broker, the real database and the real neighbours: the events identity
and records publish as a company works (its sign-up, a deal moved, clients made by a user and by a process)
become tasks in records once each, in the company's zone; a run records keeps refusing is parked and shown
failed."""

from __future__ import annotations

import datetime as _dt
import re
import uuid

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy import select

from automation_support import RUN_ATTEMPTS, announced, definition
from crm.records.events.v1 import records_events_pb2 as rev
from crm_automation.adapters.orm import PLATFORM, Company, ProcessRun
from crm_automation.entrypoints.consumer import make_consumer
from crm_platform.runtime import LoopComponent
from crm_platform.topics import topic_of
from tests.support.infra import wait_for

DELETED = re.escape("validation_failed: {'fields': [{'field': 'deal_id', 'code': 'record_deleted'")


@pytest.fixture(scope="module")
def consumer(svc, broker):
    loop = make_consumer(svc, broker.bootstrap, backoff=0.05, group=f"automation-test-{uuid.uuid4().hex[:8]}")
    component = LoopComponent("consumer", loop)
    component.start()
    assert loop.ready.wait(60), "the consumer got no partitions"
    yield loop
    component.stop()


@pytest.fixture(scope="module")
def producer(broker):
    p = KafkaProducer(bootstrap_servers=broker.bootstrap)
    yield p
    p.close()


def publish(producer, message, company_id: str, key: str, at: int = 1773144000):
    meta = message.metadata
    meta.event_id = meta.event_id or str(uuid.uuid4())
    meta.event_type, meta.company_id = message.DESCRIPTOR.full_name, company_id
    meta.occurred_at.CopyFrom(Timestamp(seconds=at))  # 2026-03-10 12:00 UTC
    headers = [("event_id", meta.event_id.encode()), ("event_type", meta.event_type.encode())]
    producer.send(topic_of(message), key=key.encode(), value=message.SerializeToString(), headers=headers).get(10)
    return message


def from_broker(broker, topic: str, key: str, event_type: str = "", timeout: float = 30):
    """The first record of `topic` with `key` (and the `event_type` header, when given), read from the start
    of every partition (no consumer group: joining one takes seconds)."""
    reader = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, auto_offset_reset="earliest")
    try:
        def assigned() -> bool:
            reader.poll(timeout_ms=0)  # refresh metadata
            partitions = reader.partitions_for_topic(topic)
            if partitions:
                reader.assign([TopicPartition(topic, p) for p in partitions])
                reader.seek_to_beginning()
            return bool(partitions)

        def found():
            for records in reader.poll(timeout_ms=500).values():
                for r in records:
                    if r.key == key.encode() and (not event_type or (
                            "event_type", event_type.encode()) in list(r.headers or ())):
                        return r
            return None
        wait_for(lambda: assigned(), timeout=timeout, interval=0.2, message=f"the topic {topic}")
        return wait_for(found, timeout=timeout, interval=0, message=f"{event_type or 'a record'} on {topic}")
    finally:
        reader.close()


def zone(db, company_id: str) -> str | None:
    with db.session(company_id=company_id) as s:
        company = s.get(Company, company_id)
        return company.time_zone if company else None


def run_rows(db, company_id: str) -> list[ProcessRun]:
    with db.session(company_id=company_id) as s:
        return list(s.execute(select(ProcessRun)).scalars())


def processed(db, company_id: str, event_id: str) -> bool:
    table = PLATFORM["processed_events"]
    with db.session(company_id=company_id) as s:
        return s.execute(select(table.c.event_id).where(table.c.event_id == event_id)).first() is not None


def consumed(loop, outcome: str) -> float:
    """How many events the consumer counted with `outcome` (its own metrics, in this process)."""
    return REGISTRY.get_sample_value("crm_events_consumed_total", {"consumer": loop.name, "outcome": outcome}) or 0


def test_record_events_become_tasks_once_in_the_company_zone(consumer, producer, broker, svc, db, company, admin):
    cid = company.id
    wait_for(lambda: zone(db, cid) == "UTC", timeout=30, message="the zone of identity's CompanyCreated")
    manager, _ = company.add_user()
    deal_process = svc.create(admin, definition(trigger_event="deal.stage_changed", due="next_day"))
    client_process = svc.create(admin, definition(trigger_event="client.created", assignee="author"))
    deal = company.deal(responsible_id=manager)  # DealCreated: no process runs on it
    company.move(deal.id, company.funnels["deal"][1][1])  # records publishes DealStageChanged
    moved = from_broker(broker, topic_of(rev.DealStageChanged), deal.id, rev.DealStageChanged.DESCRIPTOR.full_name)
    copies = consumed(consumer, "duplicate")
    producer.send(moved.topic, key=moved.key, value=moved.value, headers=moved.headers).get(10)  # delivered twice
    client = company.client()  # records publishes ClientCreated
    # the same event as a process's change would say it (source automation, its own id): no process runs on it
    real = from_broker(broker, topic_of(rev.ClientCreated), client.id)
    made = rev.ClientCreated.FromString(real.value)
    made.source = rev.CHANGE_SOURCE_AUTOMATION
    made.metadata.event_id = str(uuid.uuid4())
    producer.send(real.topic, key=real.key, value=made.SerializeToString(), headers=[
        (k, made.metadata.event_id.encode() if k == "event_id" else v) for k, v in real.headers]).get(10)

    rows = wait_for(lambda: (r := run_rows(db, cid)) and len(r) == 2 and all(x.outcome == "succeeded" for x in r)
                    and r, timeout=30, message="two succeeded runs")
    by_process = {r.process_id: r for r in rows}
    assert by_process[deal_process.id].record_id == deal.id
    assert by_process[client_process.id].record_id == client.id
    wait_for(lambda: processed(db, cid, made.metadata.event_id), timeout=30, message="the automated change consumed")
    assert len(run_rows(db, cid)) == 2  # and no process ran on it
    wait_for(lambda: consumed(consumer, "duplicate") > copies, timeout=30, message="the copy skipped")

    occurred = rev.DealStageChanged.FromString(moved.value).metadata.occurred_at.ToDatetime()  # UTC
    [deal_task] = company.tasks(deal_id=deal.id)
    assert (deal_task.id, deal_task.process_id, deal_task.responsible_id, deal_task.due_at) == \
        (by_process[deal_process.id].task_id, deal_process.id, manager,
         f"{(occurred.date() + _dt.timedelta(days=1)).isoformat()}T23:59:59Z")  # the next day's end, in UTC
    [client_task] = company.tasks(client_id=client.id)
    assert (client_task.id, client_task.process_id, client_task.responsible_id) == \
        (by_process[client_process.id].task_id, client_process.id, admin.user_id)
    assert len(company.tasks()) == 2  # none for the copy, none for the change a process made
    assert sorted(m.process_id for _, m in announced(db, cid)) == sorted([deal_process.id, client_process.id])


def test_a_run_records_keeps_refusing_is_parked_in_the_dead_letters_and_shown_failed(
        consumer, producer, broker, svc, db, company, admin, task_calls):
    cid = company.id
    p = svc.create(admin, definition(trigger_event="deal.stage_changed"))
    deal = company.deal()
    company.delete_deal(deal.id)
    # a stage change delivered after the deal was deleted: records refuses every task linking it
    late = rev.DealStageChanged(deal=rev.DealSnapshot(id=deal.id, funnel_id=deal.funnel_id, stage_id=deal.stage_id,
                                                      stage_group_key="unprocessed", responsible_id=admin.user_id))
    publish(producer, late, cid, deal.id)
    [run] = wait_for(lambda: [r for r in run_rows(db, cid) if r.outcome == "failed"], timeout=60,
                     message="the failed run")
    assert (run.process_id, run.record_id, run.attempts) == (p.id, deal.id, RUN_ATTEMPTS)
    assert re.match(DELETED, run.error), run.error
    assert task_calls().get("CreateTask") == RUN_ATTEMPTS + 1  # every attempt, then once more when parking
    assert company.tasks() == []
    [(_, finished)] = announced(db, cid)
    assert (finished.outcome, finished.error) == ("failed", run.error)
    parked = from_broker(broker, f"{topic_of(rev.DealStageChanged)}.dlq", deal.id)
    assert b"record_deleted" in dict(parked.headers)["error"]
