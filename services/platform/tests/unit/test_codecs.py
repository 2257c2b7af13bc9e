"""The platform's codecs without I/O: RFC 3339 times, list cursors, topics from the event contracts."""

from __future__ import annotations

import datetime as _dt

import pytest
from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.billing.events.v1 import billing_events_pb2 as bev
from crm.records.events.v1 import records_events_pb2 as rev
from crm_platform.db import parse_rfc3339, rfc3339
from crm_platform.errors import InvalidArgument
from crm_platform.messaging import Subscription
from crm_platform.pagination import decode_cursor, encode_cursor
from crm_platform.topics import aggregate_of, all_topics, events_in, topic_of, topics_in

TASHKENT = _dt.timezone(_dt.timedelta(hours=5))


def test_rfc3339_is_utc_with_a_z_from_aware_naive_or_unix_seconds():
    aware = _dt.datetime(2026, 12, 2, 15, 30, tzinfo=TASHKENT)
    assert rfc3339(aware) == "2026-12-02T10:30:00Z"
    assert rfc3339(aware.astimezone(_dt.timezone.utc).replace(tzinfo=None)) == "2026-12-02T10:30:00Z"
    assert rfc3339(int(aware.timestamp())) == "2026-12-02T10:30:00Z"
    assert rfc3339(None) == ""
    assert parse_rfc3339("2026-12-02T15:30:00+05:00") == aware
    assert parse_rfc3339("2026-12-02T10:30:00.000000Z") == aware
    for bad in ("2026-12-02T10:30:00", "yesterday", "", "2026-13-02T10:30:00Z", " 2026-12-02T10:30:00Z ",
                "2026-02-30T10:30:00Z", "2026-12-02 10:30:00Z", "2026-12-02T10:30:00Z\n", "2026-12-02T23:59:60Z"):
        assert parse_rfc3339(bad) is None


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


def test_a_cursor_round_trips_its_sort_value_and_id():
    at = _dt.datetime(2026, 12, 2, 10, 30, 0, 123456, tzinfo=_dt.timezone.utc)
    cursor = encode_cursor("-created_at", at, "4f1c")
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor, "-created_at", _dt.datetime, str) == (at, "4f1c")
    assert decode_cursor(encode_cursor("name", "Ömer", 7), "name", str, int) == ("Ömer", 7)


@pytest.mark.parametrize("cursor, sort, types", [
    (encode_cursor("name", "a", 1), "-name", (str, int)),  # another sort order
    (encode_cursor("name", 5, 1), "name", (str, int)),  # a value of another type
    (encode_cursor("name", "a", True), "name", (str, int)),  # a bool is not an id
    (encode_cursor("name", "a\x00", 1), "name", (str, int)),  # NUL, which PostgreSQL refuses
    (encode_cursor("created_at", "not a time", "x"), "created_at", (_dt.datetime, str)),
    ("not base64 at all!", "name", (str, int)),
    ("e30", "name", (str, int)),  # {} without its keys
])
def test_a_cursor_of_another_query_or_shape_is_invalid_cursor(cursor, sort, types):
    with pytest.raises(InvalidArgument) as refused:
        decode_cursor(cursor, sort, *types)
    assert refused.value.code == "invalid_cursor"


def test_topics_come_from_the_event_contracts():
    assert topic_of(rev.DealStageChanged) == "crm.records.deal.v1"
    assert topic_of(rev.TaskDone()) == "crm.records.task.v1"
    assert aggregate_of(rev.ClientCreated) == "client"
    assert topics_in(rev) == ("crm.records.client.v1", "crm.records.deal.v1", "crm.records.note.v1", "crm.records.task.v1")
    assert rev.DealSnapshot not in events_in(rev)  # a part of events, not an event
    with pytest.raises(KeyError):
        topic_of(rev.DealSnapshot)
    assert {"crm.billing.subscription.v1", "crm.identity.company.v1"} <= set(all_topics())
    assert Subscription(bev.PaymentCompleted, print).topic == "crm.billing.subscription.v1"
    assert Subscription(bev.PaymentCompleted, print, topic="crm.test.x.v1").topic == "crm.test.x.v1"
