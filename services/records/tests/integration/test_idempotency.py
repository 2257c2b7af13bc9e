"""The one idempotency mechanism (`crm_platform.idempotency`) over records' real gRPC API, on SQLite and
PostgreSQL: a retried call with the same key is answered, not done again; the key is its caller's; a
reused key with another request is refused; a failed call leaves no key; rights are checked before a
replay."""

from __future__ import annotations

import datetime as _dt
import uuid

import grpc
import pytest
from sqlalchemy import func, select

from crm.records.events.v1 import records_events_pb2 as rev
from crm.records.v1 import records_service_pb2 as pb
from crm_platform.auth import ACCESS, TokenSigner, read_key
from crm_platform.errors import decode_error
from crm_records.adapters.orm import IDEMPOTENCY, OUTBOX, History


def _error(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), decode_error(info.value.trailing_metadata())


def _count(records, table, *where) -> int:
    with records["db"].session() as s:
        return s.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _created(records, deal_id: str) -> int:
    return _count(records, OUTBOX, OUTBOX.c.aggregate_id == deal_id,
                  OUTBOX.c.event_type == rev.DealCreated.DESCRIPTOR.full_name)


def test_a_retried_create_answers_the_first_deal_and_another_body_is_refused(records, company):
    stub, key = records["stub"], uuid.uuid4().hex
    first = stub.CreateDeal(pb.CreateDealRequest(title="Retry me", amount="10"), metadata=company.md(key=key)).deal
    again = stub.CreateDeal(pb.CreateDealRequest(title="Retry me", amount="10"), metadata=company.md(key=key)).deal
    assert again.id == first.id and _created(records, first.id) == 1
    code, body = _error(lambda: stub.CreateDeal(pb.CreateDealRequest(title="Another", amount="10"),
                                                metadata=company.md(key=key)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and body["code"] == "idempotency_key_reused"
    with records["db"].session() as s:
        assert s.execute(select(IDEMPOTENCY.c.user_id, IDEMPOTENCY.c.company_id).where(
            IDEMPOTENCY.c.key == key)).all() == [(company.admin_id, company.id)]


def test_a_key_belongs_to_its_caller(records, company):
    stub, key = records["stub"], uuid.uuid4().hex
    _, token = company.add_user()
    mine = stub.CreateDeal(pb.CreateDealRequest(title="Same key"), metadata=company.md(key=key)).deal
    theirs = stub.CreateDeal(pb.CreateDealRequest(title="Same key"), metadata=company.md(token, key=key)).deal
    assert mine.id != theirs.id and theirs.responsible_id != mine.responsible_id


def test_a_failed_call_leaves_no_key_and_its_retry_does_the_work(records, company):
    stub, key = records["stub"], uuid.uuid4().hex
    code, _ = _error(lambda: stub.CreateDeal(pb.CreateDealRequest(title="x", amount="not money"),
                                             metadata=company.md(key=key)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert _count(records, IDEMPOTENCY, IDEMPOTENCY.c.key == key) == 0
    deal = stub.CreateDeal(pb.CreateDealRequest(title="x", amount="5"), metadata=company.md(key=key)).deal
    assert _created(records, deal.id) == 1


def test_a_retried_edit_replays_its_stored_response_and_changes_nothing_more(records, company):
    stub, key = records["stub"], uuid.uuid4().hex
    deal = stub.CreateDeal(pb.CreateDealRequest(title="Edit once"), metadata=company.md()).deal
    edit = pb.UpdateDealRequest(id=deal.id, title="Edited")
    first = stub.UpdateDeal(edit, metadata=company.md(key=key))
    stub.UpdateDeal(pb.UpdateDealRequest(id=deal.id, title="Changed since"), metadata=company.md())
    replayed, call = stub.UpdateDeal.with_call(edit, metadata=company.md(key=key))
    assert replayed == first and replayed.deal.title == "Edited"  # the first answer, not done again
    assert ("idempotent-replay", "true") in tuple(call.trailing_metadata())
    assert stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=company.md()).deal.title == "Changed since"
    assert _count(records, History, History.record_id == deal.id, History.action == "updated") == 2


def test_rights_are_checked_before_a_stored_answer_is_replayed(records, company):
    """A user whose role lost a right does not get the answer of a call the right allowed."""
    stub, key = records["stub"], uuid.uuid4().hex
    deal = stub.CreateDeal(pb.CreateDealRequest(title="Restore me"), metadata=company.md()).deal
    stub.DeleteDeal(pb.DeleteDealRequest(id=deal.id), metadata=company.md())
    signer = TokenSigner(read_key(records["keys"]["access_private"]))

    def token(permissions):  # the same user before and after an admin changed the role
        return signer.sign(typ=ACCESS, company_id=company.id, user_id=company.admin_id,
                           ttl=_dt.timedelta(minutes=5), permissions=permissions)

    stub.RestoreDeal(pb.RestoreDealRequest(id=deal.id), metadata=company.md(token(["restore_records"]), key=key))
    code, body = _error(lambda: stub.RestoreDeal(pb.RestoreDealRequest(id=deal.id),
                                                 metadata=company.md(token([]), key=key)))
    assert code == grpc.StatusCode.PERMISSION_DENIED and body["code"] == "forbidden"


def test_a_batch_of_tasks_answers_each_key_once(records, company):
    stub = records["stub"]
    deal = stub.CreateDeal(pb.CreateDealRequest(title="Tasks"), metadata=company.md()).deal
    keys = [uuid.uuid4().hex for _ in range(3)]

    def batch(*picked):
        return stub.CreateTasks(pb.CreateTasksRequest(tasks=[pb.CreateTaskRequest(
            type="call", due_at="2030-01-01T09:00:00Z", deal_id=deal.id, idempotency_key=k) for k in picked]),
            metadata=company.service_md())

    first = batch(keys[0], keys[1])
    second = batch(keys[1], keys[2])
    ids = [r.task_id for r in first.results] + [r.task_id for r in second.results]
    assert ids[1] == ids[2] and len(set(ids)) == 3
    assert _count(records, OUTBOX, OUTBOX.c.event_type == rev.TaskCreated.DESCRIPTOR.full_name,
                  OUTBOX.c.company_id == company.id) == 3
