"""Units of work on SQLite and PostgreSQL: the events a use case publishes reach the outbox with its change
and only then; the call's idempotency key is claimed, answered and replayed in the work's transaction."""

from __future__ import annotations

import datetime as _dt
import uuid

import pytest
from sqlalchemy import MetaData, String, func, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.db import Database, utcnow
from crm_platform.errors import Conflict, InvalidArgument
from crm_platform.idempotency import CallKey, Replay, pending_call
from crm_platform.tables import add_platform_tables
from crm_platform.uow import Units


class Base(DeclarativeBase):
    metadata = MetaData()


TABLES = add_platform_tables(Base.metadata)
OUTBOX, KEYS = TABLES["outbox"], TABLES["idempotency_keys"]


class Item(Base):
    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)


@pytest.fixture(scope="module")
def units(database_url):
    db = Database(database_url)
    Base.metadata.create_all(db.write_engine)
    yield Units(db, TABLES)
    Base.metadata.drop_all(db.write_engine)
    db.dispose()


def _count(units, table, *where) -> int:
    with units.db.session() as s:
        return s.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _create(units, company: str, item_id: str, fail: bool = False) -> str:
    """A use case: one item and its event; answers the item's id (replayed when the call was made)."""
    with units.write(company, "u1") as uow:
        if uow.replayed is not None:
            return uow.replayed.decode()
        uow.session.add(Item(id=item_id))
        uow.publish(item_id, ev.UserCreated(user_id=item_id, email="a@b.uz"))
        if fail:
            raise RuntimeError("the work failed")
        uow.answer(item_id)
        return item_id


def _call(company: str, key: str, digest: str = "d1", user: str = "u1") -> CallKey:
    return CallKey(company, user, "/crm.test.v1.Items/Create", key, digest)


def test_published_events_reach_the_outbox_with_the_change_topic_from_the_contract(units):
    company, item = str(uuid.uuid4()), str(uuid.uuid4())
    _create(units, company, item)
    with units.db.session() as s:
        row = s.execute(select(OUTBOX).where(OUTBOX.c.aggregate_id == item)).one()
    assert (row.topic, row.aggregate_type, row.company_id) == ("crm.identity.user.v1", "user", company)
    assert ev.UserCreated.FromString(row.payload).metadata.event_id == row.event_id


def test_a_failed_unit_writes_neither_its_change_nor_its_events(units):
    item = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        _create(units, str(uuid.uuid4()), item, fail=True)
    assert _count(units, OUTBOX, OUTBOX.c.aggregate_id == item) == 0
    assert _count(units, Item.__table__, Item.id == item) == 0


def test_the_key_is_claimed_with_the_work_and_a_retry_gets_the_first_answer(units):
    company, key = str(uuid.uuid4()), uuid.uuid4().hex
    call = _call(company, key)
    token = pending_call.set(call)
    try:
        first = _create(units, company, str(uuid.uuid4()))
    finally:
        pending_call.reset(token)
    assert call.claimed and call.answered
    retry = _call(company, key)
    token = pending_call.set(retry)
    try:
        assert _create(units, company, str(uuid.uuid4())) == first  # the stored answer, no second item
    finally:
        pending_call.reset(token)
    assert _count(units, OUTBOX, OUTBOX.c.company_id == company) == 1


def test_a_failed_attempt_leaves_no_key_so_the_retry_does_the_work(units):
    company, key = str(uuid.uuid4()), uuid.uuid4().hex
    call = _call(company, key)
    token = pending_call.set(call)
    try:
        with pytest.raises(RuntimeError):
            _create(units, company, str(uuid.uuid4()), fail=True)
        assert not call.claimed
        assert _count(units, KEYS, KEYS.c.company_id == company) == 0
        made = _create(units, company, str(uuid.uuid4()))
    finally:
        pending_call.reset(token)
    assert _count(units, Item.__table__, Item.id == made) == 1


def test_a_key_is_its_callers_alone_and_refuses_another_request(units):
    company, key = str(uuid.uuid4()), uuid.uuid4().hex
    token = pending_call.set(_call(company, key))
    try:
        first = _create(units, company, str(uuid.uuid4()))
    finally:
        pending_call.reset(token)
    for call, expected in ((_call(company, key, user="u2"), "works"), (_call(str(uuid.uuid4()), key), "works"),
                           (_call(company, key, digest="other"), "reused")):
        token = pending_call.set(call)
        try:
            if expected == "reused":
                with pytest.raises(InvalidArgument) as refused:
                    _create(units, company, str(uuid.uuid4()))
                assert refused.value.code == "idempotency_key_reused"
            else:
                assert _create(units, company, str(uuid.uuid4())) != first
        finally:
            pending_call.reset(token)


def test_a_stored_response_replays_and_an_unanswered_key_is_in_progress(units):
    company, key = str(uuid.uuid4()), uuid.uuid4().hex

    def plain_write():  # a use case that names no answer: the interceptor stores the response
        with units.write(company) as uow:
            uow.session.add(Item(id=str(uuid.uuid4())))

    call = _call(company, key)
    token = pending_call.set(call)
    try:
        plain_write()
        assert call.claimed and not call.answered
        with pytest.raises(Conflict) as running:  # claimed, its response not stored yet
            pending_call.set(_call(company, key))
            plain_write()
        assert running.value.code == "idempotency_in_progress"
        units.idempotency.complete(call, b"serialized response")
        pending_call.set(_call(company, key))
        with pytest.raises(Replay) as replay:
            plain_write()
        assert replay.value.response == b"serialized response"
    finally:
        pending_call.reset(token)
    assert _count(units, KEYS, KEYS.c.company_id == company) == 1


def test_purge_deletes_keys_past_their_retention(units):
    company = str(uuid.uuid4())
    for key in ("old", "new"):
        token = pending_call.set(_call(company, key))
        try:
            _create(units, company, str(uuid.uuid4()))
        finally:
            pending_call.reset(token)
    with units.db.session(write=True) as s:
        s.execute(update(KEYS).where(KEYS.c.company_id == company, KEYS.c.key == "old")
                  .values(created_at=utcnow() - _dt.timedelta(days=2)))
    assert units.idempotency.purge() >= 1
    with units.db.session() as s:
        assert s.execute(select(KEYS.c.key).where(KEYS.c.company_id == company)).scalars().all() == ["new"]
