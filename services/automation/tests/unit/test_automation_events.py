"""How the consumer reads record events and what it subscribes to (`entrypoints.consumer`), without a broker."""

from __future__ import annotations

import datetime as _dt

from google.protobuf.timestamp_pb2 import Timestamp

from crm.identity.events.v1 import identity_events_pb2 as iev
from crm.records.events.v1 import records_events_pb2 as rev
from crm_automation.domain import model
from crm_automation.entrypoints import consumer
from crm_platform.topics import topic_of

AT = _dt.datetime(2026, 3, 10, 12, 0, tzinfo=_dt.timezone.utc)


def stamped(message, company_id: str = "c1", event_id: str = "e1"):
    message.metadata.event_id, message.metadata.company_id = event_id, company_id
    message.metadata.occurred_at.CopyFrom(Timestamp(seconds=int(AT.timestamp())))
    return message


def deal(**fields) -> rev.DealSnapshot:
    return rev.DealSnapshot(id="d1", funnel_id="f1", stage_id="s1", stage_group_key="in_progress",
                            responsible_id="u1", **fields)


def test_a_deal_event_is_read_with_its_snapshot_and_time():
    e = consumer.to_record_event(stamped(rev.DealStageChanged(deal=deal())))
    assert e == model.RecordEvent(event_id="e1", event="deal.stage_changed", record_type="deal", record_id="d1",
                                  funnel_id="f1", stage_id="s1", stage_group="in_progress", responsible_id="u1",
                                  occurred_at=AT, automated=False)


def test_a_client_event_reads_the_client_and_an_automated_change_is_marked():
    msg = stamped(rev.ClientResponsibleChanged(client=rev.ClientSnapshot(id="k1", responsible_id="u2"),
                                               source=rev.CHANGE_SOURCE_AUTOMATION))
    e = consumer.to_record_event(msg)
    assert (e.event, e.record_type, e.record_id, e.responsible_id, e.automated) == \
        ("client.responsible_changed", "client", "k1", "u2", True)


def test_an_event_without_a_time_happened_now():
    msg = rev.DealCreated(deal=deal())
    msg.metadata.event_id = "e1"
    before = _dt.datetime.now(_dt.timezone.utc)
    assert before <= consumer.to_record_event(msg).occurred_at <= _dt.datetime.now(_dt.timezone.utc)


def test_events_no_process_runs_on_are_not_read():
    assert consumer.to_record_event(stamped(rev.DealUpdated(deal=deal()))) is None
    assert consumer.to_record_event(stamped(rev.ClientDeleted())) is None


def test_every_trigger_has_its_event_and_the_topics_come_from_the_contracts():
    assert sorted(name for name, _ in consumer.RECORD_EVENTS.values()) == sorted(model.TRIGGERS)
    subs = consumer.subscriptions(Recorder())
    assert {s.event_type for s in subs} == {c.DESCRIPTOR.full_name for c in (*consumer.RECORD_EVENTS, iev.CompanyCreated)}
    assert {s.topic for s in subs} == {topic_of(rev.DealCreated), topic_of(rev.ClientCreated),
                                       topic_of(iev.CompanyCreated)}
    assert {s.topic for s in subs} == {"crm.records.deal.v1", "crm.records.client.v1", "crm.identity.company.v1"}
    by_type = {s.message_cls: s for s in subs}
    assert by_type[iev.CompanyCreated].batch_handler is None  # one at a time
    assert all(by_type[c].batch_handler is not None for c in consumer.RECORD_EVENTS)


class Recorder:
    """Stands in for the service: records what the handlers ask of it."""

    run_attempts = 3

    def __init__(self):
        self.calls = []

    def remember_company(self, s, company_id, time_zone):
        self.calls.append(("company", company_id, time_zone))

    def run_for_event(self, s, company_id, event):
        self.calls.append(("one", company_id, event.event_id))

    def run_for_events(self, s, company_id, events):
        self.calls.append(("many", company_id, [e.event_id for e in events]))
        return {events[0].event_id}

    def park_failed(self, company_id, event, error):
        self.calls.append(("park", company_id, event.event_id, error))


def test_the_handlers_hand_the_service_domain_events_of_the_message_company():
    svc = Recorder()
    subs = {s.message_cls: s for s in consumer.subscriptions(svc)}
    subs[iev.CompanyCreated].handler(None, stamped(iev.CompanyCreated(time_zone="Europe/Berlin"), "c7"))
    subs[rev.DealCreated].handler(None, stamped(rev.DealCreated(deal=deal()), "c1", "e1"))
    left = subs[rev.DealCreated].batch_handler(None, [stamped(rev.DealCreated(deal=deal()), "c2", "e2"),
                                                      stamped(rev.ClientCreated(), "c2", "e3")])
    consumer.on_dead_letter(svc)(stamped(rev.DealStageChanged(deal=deal()), "c3", "e4"), "refused")
    consumer.on_dead_letter(svc)(stamped(rev.DealUpdated(deal=deal()), "c3", "e5"), "poison")  # not a run's event
    assert svc.calls == [("company", "c7", "Europe/Berlin"), ("one", "c1", "e1"), ("many", "c2", ["e2", "e3"]),
                         ("park", "c3", "e4", "refused")]
    assert left == {"e2"}
