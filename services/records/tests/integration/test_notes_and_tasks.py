"""A salesperson's day over real gRPC, on SQLite and PostgreSQL: notes on deals and clients (timeline
entries, NoteCreated in the outbox, author-or-admin edits, idempotent creates, tenants), the history's
pages, and tasks: the overdue / today / upcoming lists in the company's time zone (learnt from identity's
CompanyCreated by records' consumer on the real broker), edits and deletes. Every refused request
changes nothing."""

from __future__ import annotations

import datetime as _dt
import json
import threading
import uuid

import grpc
import pytest
from sqlalchemy import func, select

from crm.identity.v1 import identity_service_pb2 as ipb
from crm.records.events.v1 import records_events_pb2 as rev
from crm.records.v1 import records_service_pb2 as pb
from crm_platform.errors import decode_error
from crm_platform.messaging import wait_for
from crm_records.adapters.orm import OUTBOX, Company, History, Note, Task
from crm_records.domain import model
from crm_records.entrypoints.consumer import make_consumer


def _error(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), decode_error(info.value.trailing_metadata())


def _fields(body) -> list[tuple[str, str]]:
    return [(f["field"], f["code"]) for f in body["details"]["fields"]]


def _events(records, event_cls, aggregate_id: str | None = None, company_id: str | None = None) -> list:
    with records["db"].session() as s:
        q = select(OUTBOX.c.payload).where(OUTBOX.c.event_type == event_cls.DESCRIPTOR.full_name)
        if aggregate_id:
            q = q.where(OUTBOX.c.aggregate_id == aggregate_id)
        if company_id:
            q = q.where(OUTBOX.c.company_id == company_id)
        return [event_cls.FromString(p) for p in s.execute(q.order_by(OUTBOX.c.id)).scalars()]


def _state(records, company_id: str) -> tuple:
    """Everything a refused request must leave as it was: the company's notes, history, tasks, outbox."""
    with records["db"].session() as s:
        notes = sorted((n.id, n.text, n.updated_at.isoformat()) for n in s.execute(
            select(Note).where(Note.company_id == company_id)).scalars())
        tasks = sorted((t.id, t.type, t.comment, t.due_at.isoformat(), t.responsible_id, t.done) for t in s.execute(
            select(Task).where(Task.company_id == company_id)).scalars())
        history = s.execute(select(func.count()).select_from(History).where(
            History.company_id == company_id)).scalar_one()
        outbox = s.execute(select(func.count()).select_from(OUTBOX).where(
            OUTBOX.c.company_id == company_id)).scalar_one()
    return notes, tasks, history, outbox


def _history(stub, md, kind: str, record_id: str, limit: int = 200) -> list:
    if kind == "deal":
        return list(stub.GetDealHistory(pb.GetDealHistoryRequest(id=record_id, limit=limit), metadata=md).entries)
    return list(stub.GetClientHistory(pb.GetClientHistoryRequest(id=record_id, limit=limit), metadata=md).entries)


def _note(stub, md, kind: str, record_id: str, text: str) -> pb.Note:
    return stub.CreateNote(pb.CreateNoteRequest(entity=kind, record_id=record_id, text=text), metadata=md).note


@pytest.mark.parametrize("kind", ["deal", "client"])
def test_notes_are_timeline_entries_listed_newest_first_with_an_event_each(records, company, kind):
    stub, md = records["stub"], company.md()
    if kind == "deal":
        record = stub.CreateDeal(pb.CreateDealRequest(title="Laptops"), metadata=md).deal
    else:
        record = stub.CreateClient(pb.CreateClientRequest(name="Olim"), metadata=md).client
    first = _note(stub, md, kind, record.id, "  Called, asked for an offer \n")
    assert (first.text, first.author_id, first.entity, first.record_id) == (
        "Called, asked for an offer", company.admin_id, kind, record.id)
    assert first.created_at == first.updated_at and model.parse_datetime(first.created_at)
    more = [_note(stub, md, kind, record.id, f"Note {i}") for i in range(4)]
    longest = _note(stub, md, kind, record.id, " " + "я" * model.NOTE_MAX + " ")
    assert len(longest.text) == model.NOTE_MAX

    pages, cursor = [], ""
    while True:
        resp = stub.ListNotes(pb.ListNotesRequest(entity=kind, record_id=record.id, limit=2, cursor=cursor),
                              metadata=md)
        pages.append([n.id for n in resp.notes])
        if not resp.next_cursor:
            break
        cursor = resp.next_cursor
    assert [len(p) for p in pages] == [2, 2, 2]
    assert sum(pages, []) == [n.id for n in reversed([first, *more, longest])]

    added = [h for h in _history(stub, md, kind, record.id) if h.action == "note_added"]
    assert [json.loads(h.changes_json)[0]["new"] for h in added] == [n.id for n in reversed([first, *more, longest])]
    assert json.loads(added[-1].changes_json) == [{"field": "note", "old": None, "new": first.id},
                                                  {"field": "text", "old": None, "new": first.text}]
    assert (added[-1].actor_id, added[-1].source) == (company.admin_id, "user")
    [event] = _events(records, rev.NoteCreated, first.id)
    assert (event.note.entity, event.note.record_id, event.note.text, event.note.author_id) == (
        kind, record.id, first.text, company.admin_id)
    assert event.source == rev.CHANGE_SOURCE_USER and event.metadata.company_id == company.id


def test_a_refused_note_changes_nothing(records, company):
    stub, md = records["stub"], company.md()
    deal = stub.CreateDeal(pb.CreateDealRequest(title="D"), metadata=md).deal
    before = _state(records, company.id)
    for text, expected in (("", "required"), (" \t\n\u3000", "required"), ("x" * (model.NOTE_MAX + 1), "too_long"),
                           ("a\x00b", "invalid_value")):
        code, body = _error(lambda: _note(stub, md, "deal", deal.id, text))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and body["code"] == "validation_failed"
        assert _fields(body) == [("text", expected)]
    code, body = _error(lambda: _note(stub, md, "deal", str(uuid.uuid4()), "Hello"))
    assert (code, body["code"]) == (grpc.StatusCode.NOT_FOUND, "deal_not_found")
    code, body = _error(lambda: _note(stub, md, "client", deal.id, "A deal's id is no client"))
    assert (code, body["code"]) == (grpc.StatusCode.NOT_FOUND, "client_not_found")
    code, body = _error(lambda: _note(stub, md, "task", deal.id, "Hello"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and _fields(body) == [("entity", "invalid_choice")]
    assert _state(records, company.id) == before

    stub.DeleteDeal(pb.DeleteDealRequest(id=deal.id), metadata=md)
    before = _state(records, company.id)
    code, body = _error(lambda: _note(stub, md, "deal", deal.id, "On a deleted deal"))
    assert (code, body["code"]) == (grpc.StatusCode.FAILED_PRECONDITION, "record_deleted")
    assert _state(records, company.id) == before
    assert not stub.ListNotes(pb.ListNotesRequest(entity="deal", record_id=deal.id), metadata=md).notes  # still opens


def test_a_note_is_created_once_per_idempotency_key(records, company):
    stub = records["stub"]
    deal = stub.CreateDeal(pb.CreateDealRequest(title="D"), metadata=company.md()).deal
    key = f"note-{uuid.uuid4().hex}"
    req = pb.CreateNoteRequest(entity="deal", record_id=deal.id, text="Once")
    first = stub.CreateNote(req, metadata=company.md(key=key)).note
    again = stub.CreateNote(req, metadata=company.md(key=key)).note  # a create answers the note it made
    assert (again.id, again.text, again.created_at) == (first.id, first.text, first.created_at)
    before = _state(records, company.id)
    code, body = _error(lambda: stub.CreateNote(pb.CreateNoteRequest(entity="deal", record_id=deal.id,
                                                                     text="Another"), metadata=company.md(key=key)))
    assert (code, body["code"]) == (grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key_reused")
    assert _state(records, company.id) == before
    assert [n.id for n in stub.ListNotes(pb.ListNotesRequest(entity="deal", record_id=deal.id),
                                         metadata=company.md()).notes] == [first.id]
    assert len(_events(records, rev.NoteCreated, company_id=company.id)) == 1


def test_only_the_author_or_an_admin_edits_or_deletes_a_note(records, company):
    stub, admin = records["stub"], company.md()
    writer_id, writer_token = company.add_user()
    _, other_token = company.add_user()
    writer, other = company.md(writer_token), company.md(other_token)
    client = stub.CreateClient(pb.CreateClientRequest(name="Client"), metadata=admin).client
    note = _note(stub, writer, "client", client.id, "Prefers calls after 14:00")
    assert note.author_id == writer_id

    before = _state(records, company.id)
    for call in (lambda: stub.UpdateNote(pb.UpdateNoteRequest(id=note.id, text="Mine now"), metadata=other),
                 lambda: stub.DeleteNote(pb.DeleteNoteRequest(id=note.id), metadata=other)):
        code, body = _error(call)
        assert (code, body["code"]) == (grpc.StatusCode.PERMISSION_DENIED, "note_author_only")
    code, body = _error(lambda: stub.UpdateNote(pb.UpdateNoteRequest(id=note.id, text="   "), metadata=writer))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and _fields(body) == [("text", "required")]
    code, body = _error(lambda: stub.UpdateNote(pb.UpdateNoteRequest(id=str(uuid.uuid4()), text="x"), metadata=writer))
    assert (code, body["code"]) == (grpc.StatusCode.NOT_FOUND, "note_not_found")
    assert _state(records, company.id) == before

    edited = stub.UpdateNote(pb.UpdateNoteRequest(id=note.id, text=" After 15:00 "), metadata=writer).note
    assert (edited.text, edited.created_at) == ("After 15:00", note.created_at) and edited.updated_at > note.updated_at
    same = stub.UpdateNote(pb.UpdateNoteRequest(id=note.id, text="After 15:00"), metadata=writer).note
    assert same.updated_at == edited.updated_at  # the same text again is no change
    by_admin = stub.UpdateNote(pb.UpdateNoteRequest(id=note.id, text="After 16:00"), metadata=admin).note
    assert (by_admin.text, by_admin.author_id) == ("After 16:00", writer_id)
    updates = [h for h in _history(stub, admin, "client", client.id) if h.action == "note_updated"]
    assert [(h.actor_id, json.loads(h.changes_json)[1]) for h in updates] == [
        (company.admin_id, {"field": "text", "old": "After 15:00", "new": "After 16:00"}),
        (writer_id, {"field": "text", "old": "Prefers calls after 14:00", "new": "After 15:00"})]

    gone = stub.DeleteNote(pb.DeleteNoteRequest(id=note.id), metadata=admin).note
    assert gone.id == note.id
    assert not stub.ListNotes(pb.ListNotesRequest(entity="client", record_id=client.id), metadata=admin).notes
    [deleted] = [h for h in _history(stub, admin, "client", client.id) if h.action == "note_deleted"]
    assert json.loads(deleted.changes_json) == [{"field": "note", "old": note.id, "new": None}]
    code, body = _error(lambda: stub.DeleteNote(pb.DeleteNoteRequest(id=note.id), metadata=writer))
    assert (code, body["code"]) == (grpc.StatusCode.NOT_FOUND, "note_not_found")

    # a deleted client's notes are read-only until it is restored
    kept = _note(stub, writer, "client", client.id, "Kept")
    stub.DeleteClient(pb.DeleteClientRequest(id=client.id), metadata=admin)
    before = _state(records, company.id)
    code, body = _error(lambda: stub.UpdateNote(pb.UpdateNoteRequest(id=kept.id, text="Edited"), metadata=writer))
    assert (code, body["code"]) == (grpc.StatusCode.FAILED_PRECONDITION, "record_deleted")
    assert _state(records, company.id) == before


def test_another_companys_notes_and_records_are_not_found(records, company):
    stub = records["stub"]
    other = type(company)(records["neighbours"], records["keys"])  # a second company (conftest's Company)
    deal = stub.CreateDeal(pb.CreateDealRequest(title="Theirs"), metadata=other.md()).deal
    note = _note(stub, other.md(), "deal", deal.id, "Secret")
    before = _state(records, other.id)
    for call, expected in (
            (lambda: _note(stub, company.md(), "deal", deal.id, "Hi"), "deal_not_found"),
            (lambda: stub.ListNotes(pb.ListNotesRequest(entity="deal", record_id=deal.id), metadata=company.md()),
             "deal_not_found"),
            (lambda: stub.UpdateNote(pb.UpdateNoteRequest(id=note.id, text="Mine"), metadata=company.md()),
             "note_not_found"),
            (lambda: stub.DeleteNote(pb.DeleteNoteRequest(id=note.id), metadata=company.md()), "note_not_found")):
        code, body = _error(call)
        assert (code, body["code"]) == (grpc.StatusCode.NOT_FOUND, expected)
    assert _state(records, other.id) == before


def test_history_pages_with_a_cursor(records, company):
    stub, md = records["stub"], company.md()
    deal = stub.CreateDeal(pb.CreateDealRequest(title="D"), metadata=md).deal
    for i in range(6):
        _note(stub, md, "deal", deal.id, f"n{i}")
    everything = [h.id for h in _history(stub, md, "deal", deal.id)]
    assert len(everything) == 7  # created + 6 notes, newest first
    seen, cursor = [], ""
    while True:
        resp = stub.GetDealHistory(pb.GetDealHistoryRequest(id=deal.id, limit=3, cursor=cursor), metadata=md)
        seen += [h.id for h in resp.entries]
        if not resp.next_cursor:
            break
        cursor = resp.next_cursor
    assert seen == everything
    code, body = _error(lambda: stub.GetDealHistory(pb.GetDealHistoryRequest(id=deal.id, cursor="bm9wZQ"),
                                                    metadata=md))
    assert (code, body["code"]) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_cursor")


def _iso(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_days_task_lists_follow_the_companys_time_zone(records, company, broker):
    """The company signs up in UTC+14 (identity publishes CompanyCreated, records' consumer keeps its time
    zone); until records knows it, "today" is identity's default, Asia/Tashkent."""
    stub, zone = records["stub"], "Pacific/Kiritimati"
    signed = company.auth.SignUp(ipb.SignUpRequest(company_name="Far East", first_name="Ali", last_name="Vali",
                                                   email=f"k{uuid.uuid4().hex[:8]}@t.uz", password="pass-1234",
                                                   time_zone=zone))
    md = [("authorization", f"Bearer {signed.tokens.access_token}")]
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    start, end = model.local_day(now, zone)
    dues = {"earlier_today": start + _dt.timedelta(minutes=1), "later_today": end - _dt.timedelta(minutes=1),
            "tomorrow": end + _dt.timedelta(minutes=1), "yesterday": start - _dt.timedelta(minutes=1),
            "yesterday_done": start - _dt.timedelta(minutes=1), "next_week": end + _dt.timedelta(days=6)}
    tasks = {name: stub.CreateTask(pb.CreateTaskRequest(type="call", comment=name, due_at=_iso(due)),
                                   metadata=md).task for name, due in dues.items()}
    stub.UpdateTask(pb.UpdateTaskRequest(id=tasks["yesterday_done"].id, done=True), metadata=md)

    def listed(due: str) -> list[str]:
        rows = stub.ListTasks(pb.ListTasksRequest(due=due), metadata=md).tasks
        return [t.comment for t in rows]

    def expected(due: str, time_zone: str) -> list[str]:
        first, last = model.local_day(_dt.datetime.now(_dt.timezone.utc), time_zone)
        ordered = sorted(dues, key=lambda n: (dues[n], tasks[n].id))
        if due == "overdue":
            return [n for n in ordered if n != "yesterday_done" and dues[n] < _dt.datetime.now(_dt.timezone.utc)]
        if due == "today":
            return [n for n in ordered if first <= dues[n] < last]
        return [n for n in ordered if dues[n] >= last]

    with records["db"].session() as s:
        known = s.get(Company, signed.company.id) is not None
    if not known:  # records' consumer has not heard of the company yet: the default zone
        assert listed("today") == expected("today", model.DEFAULT_TIME_ZONE)
    consumer = make_consumer(records["svc"], broker.bootstrap, group=f"records-test-{uuid.uuid4().hex[:6]}")
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        def remembered() -> bool:
            with records["db"].session() as s:
                return s.get(Company, signed.company.id) is not None
        assert wait_for(remembered, 30)
    finally:
        consumer.stop_event.set()
        thread.join(10)
    with records["db"].session() as s:
        assert s.get(Company, signed.company.id).time_zone == zone
    for due in ("overdue", "today", "upcoming"):
        assert listed(due) == expected(due, zone), due
    assert set(listed("today")) == {"earlier_today", "later_today"}
    assert listed("upcoming") == ["tomorrow", "next_week"]
    assert "yesterday" in listed("overdue") and "yesterday_done" not in listed("overdue")
    every = {t.comment: t for t in stub.ListTasks(pb.ListTasksRequest(), metadata=md).tasks}
    assert {n for n, t in every.items() if t.overdue} == set(listed("overdue"))
    assert not every["later_today"].overdue and not every["yesterday_done"].overdue
    page = stub.ListTasks(pb.ListTasksRequest(due="upcoming", limit=1), metadata=md)
    rest = stub.ListTasks(pb.ListTasksRequest(due="upcoming", limit=1, cursor=page.next_cursor), metadata=md)
    assert [t.comment for t in (*page.tasks, *rest.tasks)] == ["tomorrow", "next_week"] and not rest.next_cursor
    code, body = _error(lambda: stub.ListTasks(pb.ListTasksRequest(due="someday"), metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and _fields(body) == [("due", "invalid_choice")]


def test_tasks_are_edited_and_deleted_and_a_refused_edit_changes_nothing(records, company):
    stub, md = records["stub"], company.md()
    user_id, user_token = company.add_user()
    deal = stub.CreateDeal(pb.CreateDealRequest(title="D"), metadata=md).deal
    task = stub.CreateTask(pb.CreateTaskRequest(type="call", comment="Call", due_at="2030-01-01T09:00:00Z",
                                                deal_id=deal.id), metadata=md).task
    assert not task.overdue
    before = _state(records, company.id)
    for change, field, expected in (
            (dict(due_at="tomorrow"), "due_at", "invalid_datetime"),
            (dict(type="no_such_type"), "type", "invalid_choice"),
            (dict(responsible_id=str(uuid.uuid4())), "responsible_id", "unknown_reference"),
            (dict(comment="x" * (model.LONG_TEXT_MAX + 1)), "comment", "too_long")):
        code, body = _error(lambda: stub.UpdateTask(pb.UpdateTaskRequest(id=task.id, **change), metadata=md))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and _fields(body) == [(field, expected)], change
    code, body = _error(lambda: stub.UpdateTask(pb.UpdateTaskRequest(id=str(uuid.uuid4()), done=True), metadata=md))
    assert (code, body["code"]) == (grpc.StatusCode.NOT_FOUND, "task_not_found")
    assert _state(records, company.id) == before

    # any user of the company edits and deletes tasks, as they create them
    edited = stub.UpdateTask(pb.UpdateTaskRequest(id=task.id, type="meeting", comment=" Meet ", due_at=
                                                  "2020-01-01T09:00:00Z", responsible_id=user_id),
                             metadata=company.md(user_token)).task
    assert (edited.type, edited.comment, edited.due_at, edited.responsible_id, edited.overdue) == (
        "meeting", "Meet", "2020-01-01T09:00:00Z", user_id, True)
    done = stub.UpdateTask(pb.UpdateTaskRequest(id=task.id, done=True), metadata=md).task
    assert done.done and done.done_at and not done.overdue
    assert len(_events(records, rev.TaskDone, task.id)) == 1

    gone = stub.DeleteTask(pb.DeleteTaskRequest(id=task.id), metadata=company.md(user_token)).task
    assert gone.id == task.id
    code, body = _error(lambda: stub.GetTask(pb.GetTaskRequest(id=task.id), metadata=md))
    assert (code, body["code"]) == (grpc.StatusCode.NOT_FOUND, "task_not_found")
    code, body = _error(lambda: stub.DeleteTask(pb.DeleteTaskRequest(id=task.id), metadata=md))
    assert (code, body["code"]) == (grpc.StatusCode.NOT_FOUND, "task_not_found")
    [event] = _events(records, rev.TaskDeleted, task.id)
    assert (event.task.deal_id, event.source) == (deal.id, rev.CHANGE_SOURCE_USER)
    [entry] = [h for h in _history(stub, md, "deal", deal.id) if h.action == "task_deleted"]
    assert json.loads(entry.changes_json) == [{"field": "task", "old": task.id, "new": None}]
    assert not stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=md).open_tasks
