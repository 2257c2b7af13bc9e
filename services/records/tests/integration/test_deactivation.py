"""A deactivated user's open work changes hands (records' consumer, identity's UserDeactivated), on SQLite
and PostgreSQL: identity deactivates the user for real, its relay publishes the event on the real broker,
records' consumer (its own group) applies it, and a second delivery of the same event changes nothing."""

from __future__ import annotations

import json
import threading
import uuid

import grpc
from kafka import KafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from crm.identity.events.v1 import identity_events_pb2 as iev
from crm.identity.v1 import identity_service_pb2 as ipb
from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm.records.events.v1 import records_events_pb2 as rev
from crm.records.v1 import records_service_pb2 as pb
from crm_platform.context import Principal
from crm_platform.messaging import wait_for
from crm_platform.topics import topic_of
from crm_records.adapters.orm import OUTBOX, History
from crm_records.entrypoints.consumer import make_consumer
from tests.support.events import collect

DUE = "2030-01-01T09:00:00Z"


def _funnel(records, company, entity: str):
    stub = pgrpc.PipelineServiceStub(grpc.insecure_channel(records["neighbours"]["pipeline"]))
    return stub.ListFunnels(ppb.ListFunnelsRequest(entity=entity), metadata=company.md()).funnels[0]


def _stage(funnel, group: str) -> str:
    return next(g for g in funnel.groups if g.key == group).stages[0].id


def _events(records, event_cls, record_id: str) -> list:
    with records["db"].session() as s:
        rows = s.execute(select(OUTBOX.c.payload).where(OUTBOX.c.aggregate_id == record_id,
                                                        OUTBOX.c.event_type == event_cls.DESCRIPTOR.full_name)
                         .order_by(OUTBOX.c.id)).scalars().all()
    return [event_cls.FromString(p) for p in rows]


def _count(consumer: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("crm_events_consumed_total", {"consumer": consumer, "outcome": outcome}) or 0


def _handed_over(history) -> list:
    return [h for h in history if h.action == "responsible_changed"]


class _Consumer:
    """Records' consumer in a group of its own (other records consumers on the session's broker)."""

    def __init__(self, records, broker):
        self.consumer = make_consumer(records["svc"], broker.bootstrap, group=f"records-test-{uuid.uuid4().hex[:6]}")
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.consumer

    def __exit__(self, *exc):
        self.consumer.stop_event.set()
        self.thread.join(10)


def test_a_deactivated_users_open_work_goes_to_the_admin_who_deactivated_them(records, company, broker):
    stub, md = records["stub"], company.md()
    user_id, _ = company.add_user()
    deals = _funnel(records, company, "deal")
    open_deal = stub.CreateDeal(pb.CreateDealRequest(title="Open", stage_id=_stage(deals, "in_progress"),
                                                     responsible_id=user_id), metadata=md).deal
    won_deal = stub.CreateDeal(pb.CreateDealRequest(title="Won", stage_id=_stage(deals, "successful"),
                                                    responsible_id=user_id), metadata=md).deal
    client = stub.CreateClient(pb.CreateClientRequest(name="Client", responsible_id=user_id), metadata=md).client
    task = stub.CreateTask(pb.CreateTaskRequest(type="call", due_at=DUE, responsible_id=user_id,
                                                deal_id=open_deal.id), metadata=md).task
    done = stub.CreateTask(pb.CreateTaskRequest(type="call", due_at=DUE, responsible_id=user_id), metadata=md).task
    stub.UpdateTask(pb.UpdateTaskRequest(id=done.id, done=True), metadata=md)
    others = stub.CreateDeal(pb.CreateDealRequest(title="Admin's", responsible_id=company.admin_id), metadata=md).deal

    with _Consumer(records, broker) as consumer:
        company.directory.DeactivateUser(ipb.DeactivateUserRequest(id=user_id), metadata=md)
        assert wait_for(lambda: stub.GetTask(pb.GetTaskRequest(id=task.id), metadata=md).task.responsible_id
                        == company.admin_id, 30)
        # the same event delivered again (a redelivery after a crash, a replay): skipped
        [(record, event)] = collect(broker.bootstrap, topic_of(iev.UserDeactivated), iev.UserDeactivated,
                                    lambda e: e.user_id == user_id)
        assert event.metadata.actor_id == company.admin_id
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        producer.send(record.topic, key=record.key, value=record.value, headers=record.headers).get(10)
        producer.close()
        assert wait_for(lambda: _count(consumer.name, "duplicate") >= 1, 30)
        assert _count(consumer.name, "applied") >= 1
    # and a hand-over run again (as for another deactivation of the same user) finds nothing left
    with records["db"].session(company_id=company.id, write=True) as s:
        again = records["svc"].hand_over(s, Principal(company_id=company.id, user_id=company.admin_id,
                                                      kind="service"), user_id)
    assert again == (company.admin_id, 0, 0, 0)

    assert stub.GetDeal(pb.GetDealRequest(id=open_deal.id), metadata=md).deal.responsible_id == company.admin_id
    assert stub.GetDeal(pb.GetDealRequest(id=won_deal.id), metadata=md).deal.responsible_id == user_id
    assert stub.GetClient(pb.GetClientRequest(id=client.id), metadata=md).client.responsible_id == company.admin_id
    assert stub.GetTask(pb.GetTaskRequest(id=done.id), metadata=md).task.responsible_id == user_id
    assert stub.GetDeal(pb.GetDealRequest(id=others.id), metadata=md).deal.responsible_id == company.admin_id

    for history in (stub.GetDealHistory(pb.GetDealHistoryRequest(id=open_deal.id), metadata=md).entries,
                    stub.GetClientHistory(pb.GetClientHistoryRequest(id=client.id), metadata=md).entries):
        [entry] = _handed_over(history)  # once, though the event came twice
        assert (entry.source, entry.actor_id) == ("system", company.admin_id)
        assert json.loads(entry.changes_json) == [{"field": "responsible_id", "old": user_id,
                                                   "new": company.admin_id}]
    assert not _handed_over(stub.GetDealHistory(pb.GetDealHistoryRequest(id=won_deal.id), metadata=md).entries)
    with records["db"].session() as s:
        assert s.execute(select(func.count()).select_from(History).where(
            History.entity == "task", History.record_id == task.id, History.source == "system")).scalar_one() == 1

    [deal_event] = _events(records, rev.DealResponsibleChanged, open_deal.id)
    assert (deal_event.previous_responsible_id, deal_event.deal.responsible_id, deal_event.source) == (
        user_id, company.admin_id, rev.CHANGE_SOURCE_SYSTEM)
    assert deal_event.deal.stage_group_key == "in_progress"
    [client_event] = _events(records, rev.ClientResponsibleChanged, client.id)
    assert (client_event.previous_responsible_id, client_event.client.responsible_id) == (user_id, company.admin_id)
    assert not _events(records, rev.DealResponsibleChanged, won_deal.id)


def test_an_admin_who_deactivates_themselves_hands_over_to_the_longest_standing_admin(records, company, broker):
    """The actor cannot take over their own work: the company's first active administrator does."""
    stub, md = records["stub"], company.md()
    second, second_token = company.add_user(admin=True)
    deal = stub.CreateDeal(pb.CreateDealRequest(title="Second's", responsible_id=second), metadata=md).deal
    with _Consumer(records, broker):
        company.directory.DeactivateUser(ipb.DeactivateUserRequest(id=second), metadata=company.md(second_token))
        assert wait_for(lambda: stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=md).deal.responsible_id
                        == company.admin_id, 30)
    [entry] = _handed_over(stub.GetDealHistory(pb.GetDealHistoryRequest(id=deal.id), metadata=md).entries)
    assert (entry.source, entry.actor_id) == ("system", second)
