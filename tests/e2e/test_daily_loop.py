"""A salesperson's day end to end through the gateway: notes on deals and clients (timeline entries,
NoteCreated on the broker, author-or-admin edits, Idempotency-Key, tenants, errors in three languages
that change nothing), the timeline's pages, and the task lists of the day in the company's time zone
(learnt by records from identity's CompanyCreated), with edits and deletes."""

from __future__ import annotations

import datetime as _dt
import zoneinfo

import pytest

from crm.records.events.v1 import records_events_pb2 as rev
from tests.support.crm import new_deal, new_manager
from tests.support.events import collect
from tests.support.infra import wait_for
from tests.support.system import sign_up

pytestmark = pytest.mark.e2e


def _error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()["error"]
    assert body["code"] == code, body
    return body


def _fields(resp) -> dict[str, str]:
    return {f["field"]: f["code"] for f in resp.json()["error"]["details"]["fields"]}


def _notes(c, path: str) -> list[dict]:
    resp = c.get(f"{path}/notes?limit=200")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def _timeline(c, path: str) -> list[dict]:
    resp = c.get(f"{path}/history?limit=200")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def test_notes_on_deals_and_clients(api, system):
    a = sign_up(api)
    c = a["api"]
    deal = new_deal(c)
    client = c.post("/api/v1/clients", json={"name": "Olim"}).json()
    for path, own, other in ((f"/api/v1/deals/{deal['id']}", "deal_id", "client_id"),
                             (f"/api/v1/clients/{client['id']}", "client_id", "deal_id")):
        resp = c.post(f"{path}/notes", json={"text": "  Called, asked for an offer \n"})
        assert resp.status_code == 201, resp.text
        note = resp.json()
        assert (note["text"], note["author_id"], note[own], note[other]) == (
            "Called, asked for an offer", a["user"]["id"], path.rsplit("/", 1)[1], None)
        assert note["created_at"] == note["updated_at"] and set(note) >= {"id", "text", "author_id", "created_at"}
        second = c.post(f"{path}/notes", json={"text": "Second"}).json()
        assert [n["id"] for n in _notes(c, path)] == [second["id"], note["id"]]  # newest first
        page = c.get(f"{path}/notes?limit=1").json()
        rest = c.get(f"{path}/notes?limit=1&cursor={page['next_cursor']}").json()
        assert [n["id"] for n in page["items"] + rest["items"]] == [second["id"], note["id"]]
        assert rest["next_cursor"] is None
        added = [h for h in _timeline(c, path) if h["action"] == "note_added"]
        assert [h["changes"][0]["new"] for h in added] == [second["id"], note["id"]]
        assert added[1]["changes"][1] == {"field": "text", "old": None, "new": "Called, asked for an offer"}

    # NoteCreated reaches the broker (automation and webhooks read it)
    [(record, event)] = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.records.note.v1", rev.NoteCreated,
                                lambda e: e.note.record_id == deal["id"] and e.note.text == "Second")
    assert record.key.decode() == event.note.id and event.note.entity == "deal"
    assert event.metadata.company_id == a["company"]["id"] and event.source == rev.CHANGE_SOURCE_USER


def test_a_bad_note_is_refused_in_the_callers_language_and_changes_nothing(api):
    a = sign_up(api)
    c = a["api"]
    deal = new_deal(c)
    path = f"/api/v1/deals/{deal['id']}"
    before = (_notes(c, path), _timeline(c, path))
    for body, field_code in (({"text": ""}, "required"), ({"text": " \t\n"}, "required"), ({}, "required"),
                             ({"text": "x" * 4001}, "too_long"), ({"text": 5}, "invalid_type"),
                             ({"text": "a\u0000b"}, "invalid_value")):
        resp = c.post(f"{path}/notes", json=body)
        _error(resp, 422, "validation_failed")
        assert _fields(resp) == {"text": field_code}, body
    assert c.post(f"{path}/notes", json={"text": " " + "я" * 4000 + " "}).status_code == 201  # trimmed: 4,000
    before = (_notes(c, path), _timeline(c, path))
    texts = {}
    for lang in ("en", "ru", "uz"):
        resp = c.post(f"{path}/notes", json={"text": "x" * 4001}, headers={"Accept-Language": lang})
        err = _error(resp, 422, "validation_failed")
        texts[lang] = err["details"]["fields"][0]["message"]
    assert len(set(texts.values())) == 3 and "4000" in texts["ru"], texts
    missing = c.post("/api/v1/deals/00000000-0000-4000-8000-000000000000/notes", json={"text": "Hi"},
                     headers={"Accept-Language": "ru"})
    assert _error(missing, 404, "deal_not_found")["message"] == "Сделка не найдена."
    _error(c.get("/api/v1/clients/00000000-0000-4000-8000-000000000000/notes"), 404, "client_not_found")
    _error(c.get(f"{path}/notes?cursor=bm9wZQ"), 422, "invalid_cursor")
    _error(c.get(f"{path}/notes?limit=201"), 422, "validation_failed")
    assert (_notes(c, path), _timeline(c, path)) == before

    assert c.delete(path).status_code == 200
    _error(c.post(f"{path}/notes", json={"text": "On a deleted deal"}), 409, "record_deleted")
    assert _notes(c, path) == before[0]  # a deleted deal still opens


def test_a_note_post_is_idempotent_and_only_its_author_or_an_admin_changes_it(api):
    a = sign_up(api)
    admin = a["api"]
    writer_id, writer = new_manager(api, admin)
    _, other = new_manager(api, admin)
    deal = new_deal(admin)
    path = f"/api/v1/deals/{deal['id']}"
    key = {"Idempotency-Key": f"note-{deal['id']}"}
    first = writer.post(f"{path}/notes", json={"text": "Once"}, headers=key)
    again = writer.post(f"{path}/notes", json={"text": "Once"}, headers=key)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    _error(writer.post(f"{path}/notes", json={"text": "Other"}, headers=key), 422, "idempotency_key_reused")
    assert len(_notes(admin, path)) == 1
    note = first.json()

    before = (_notes(admin, path), _timeline(admin, path))
    for resp in (other.patch(f"/api/v1/notes/{note['id']}", json={"text": "Mine"}),
                 other.delete(f"/api/v1/notes/{note['id']}")):
        _error(resp, 403, "note_author_only")
    for body, field_code in (({"text": "  "}, "required"), ({}, "required"), ({"text": "x" * 4001}, "too_long")):
        resp = writer.patch(f"/api/v1/notes/{note['id']}", json=body)
        _error(resp, 422, "validation_failed")
        assert _fields(resp) == {"text": field_code}
    _error(writer.patch("/api/v1/notes/00000000-0000-4000-8000-000000000000", json={"text": "x"}), 404,
           "note_not_found")
    b = sign_up(api)["api"]  # another company: 404, as for a missing note
    _error(b.patch(f"/api/v1/notes/{note['id']}", json={"text": "x"}), 404, "note_not_found")
    _error(b.delete(f"/api/v1/notes/{note['id']}"), 404, "note_not_found")
    _error(b.get(f"{path}/notes"), 404, "deal_not_found")
    _error(b.post(f"{path}/notes", json={"text": "x"}), 404, "deal_not_found")
    assert (_notes(admin, path), _timeline(admin, path)) == before

    edited = writer.patch(f"/api/v1/notes/{note['id']}", json={"text": "Twice"})
    assert edited.status_code == 200 and edited.json()["text"] == "Twice"
    assert edited.json()["updated_at"] > note["updated_at"]
    by_admin = admin.patch(f"/api/v1/notes/{note['id']}", json={"text": "Thrice"}).json()
    assert (by_admin["text"], by_admin["author_id"]) == ("Thrice", writer_id)
    assert [h["action"] for h in _timeline(admin, path)][:2] == ["note_updated", "note_updated"]
    gone = admin.delete(f"/api/v1/notes/{note['id']}")
    assert gone.status_code == 200 and gone.json()["id"] == note["id"]
    assert _notes(admin, path) == []
    assert _timeline(admin, path)[0]["action"] == "note_deleted"
    _error(writer.delete(f"/api/v1/notes/{note['id']}"), 404, "note_not_found")


def test_the_timeline_pages_with_a_cursor(api):
    c = sign_up(api)["api"]
    deal = new_deal(c)
    path = f"/api/v1/deals/{deal['id']}"
    for i in range(5):
        assert c.post(f"{path}/notes", json={"text": f"n{i}"}).status_code == 201
    everything = [h["id"] for h in _timeline(c, path)]
    assert len(everything) == 6
    seen, cursor = [], ""
    while True:
        page = c.get(f"{path}/history?limit=4" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [h["id"] for h in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == everything


def _iso(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_days_task_lists_in_the_companys_time_zone_and_task_edits(api):
    zone = "Pacific/Kiritimati"  # UTC+14: its "today" is not Tashkent's for ten hours of every day
    a = sign_up(api, time_zone=zone)
    c = a["api"]
    now = _dt.datetime.now(_dt.timezone.utc)
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(_dt.timezone.utc)
    end = (local.replace(hour=0, minute=0, second=0, microsecond=0) + _dt.timedelta(days=1)).astimezone(
        _dt.timezone.utc)
    dues = {"earlier_today": start + _dt.timedelta(minutes=1), "later_today": end - _dt.timedelta(minutes=1),
            "tomorrow": end + _dt.timedelta(hours=1), "yesterday": start - _dt.timedelta(minutes=1),
            "yesterday_done": start - _dt.timedelta(hours=1)}
    ids = {}
    for name, due in dues.items():
        resp = c.post("/api/v1/tasks", json={"type": "call", "comment": name, "due_at": _iso(due)})
        assert resp.status_code == 201, resp.text
        assert resp.json()["overdue"] is (due < now)
        ids[name] = resp.json()["id"]
    assert c.patch(f"/api/v1/tasks/{ids['yesterday_done']}", json={"done": True}).json()["overdue"] is False

    def listed(due: str) -> list[str]:
        resp = c.get(f"/api/v1/tasks?due={due}")
        assert resp.status_code == 200, resp.text
        return [t["comment"] for t in resp.json()["items"]]

    # records learns the zone from identity's CompanyCreated (its consumer); Tashkent's day until then
    wait_for(lambda: listed("today") == ["earlier_today", "later_today"], timeout=30,
             message="today in the company's time zone")
    assert listed("upcoming") == ["tomorrow"]

    def past(name: str) -> bool:
        return name != "yesterday_done" and dues[name] < _dt.datetime.now(_dt.timezone.utc)

    assert listed("overdue") == [n for n in sorted(dues, key=dues.get) if past(n)]
    flags = {t["comment"]: t["overdue"] for t in c.get("/api/v1/tasks").json()["items"]}
    assert flags == {n: past(n) for n in dues}
    assert listed("") == sorted(dues, key=dues.get)

    before = c.get("/api/v1/tasks").json()
    resp = c.get("/api/v1/tasks?due=someday", headers={"Accept-Language": "ru"})
    _error(resp, 422, "validation_failed")
    assert _fields(resp) == {"due": "invalid_choice"}
    task = ids["tomorrow"]
    for body, field in (({"due_at": "tomorrow"}, "due_at"), ({"type": "no_such_type"}, "type"),
                        ({"responsible_id": "00000000-0000-4000-8000-000000000000"}, "responsible_id"),
                        ({"comment": "x" * 5001}, "comment"), ({"done": "yes"}, "done")):
        resp = c.patch(f"/api/v1/tasks/{task}", json=body)
        _error(resp, 422, "validation_failed")
        assert set(_fields(resp)) == {field}, resp.text
    _error(c.delete("/api/v1/tasks/00000000-0000-4000-8000-000000000000"), 404, "task_not_found")
    b = sign_up(api)["api"]
    _error(b.delete(f"/api/v1/tasks/{task}"), 404, "task_not_found")
    _error(b.patch(f"/api/v1/tasks/{task}", json={"done": True}), 404, "task_not_found")
    assert c.get("/api/v1/tasks").json() == before

    manager_id, manager = new_manager(api, c)
    deal = new_deal(c)
    made = c.post("/api/v1/tasks", json={"type": "call", "due_at": _iso(end + _dt.timedelta(days=2)),
                                         "deal_id": deal["id"]}).json()
    edited = manager.patch(f"/api/v1/tasks/{made['id']}", json={
        "type": "meeting", "comment": "Meet at the office", "due_at": _iso(now - _dt.timedelta(hours=1)),
        "responsible_id": manager_id})
    assert edited.status_code == 200, edited.text
    e = edited.json()
    assert (e["type"], e["comment"], e["responsible_id"], e["overdue"]) == (
        "meeting", "Meet at the office", manager_id, True)
    assert "Meet at the office" in listed("overdue")
    assert manager.patch(f"/api/v1/tasks/{made['id']}", json={"done": True}).json()["overdue"] is False
    gone = manager.delete(f"/api/v1/tasks/{made['id']}")
    assert gone.status_code == 200 and gone.json()["id"] == made["id"]
    _error(c.delete(f"/api/v1/tasks/{made['id']}"), 404, "task_not_found")
    assert made["id"] not in {t["id"] for t in c.get("/api/v1/tasks").json()["items"]}
    assert _timeline(c, f"/api/v1/deals/{deal['id']}")[0]["action"] == "task_deleted"


def test_the_openapi_document_declares_the_new_operations(api):
    doc = api.get("/api/openapi.json").json()
    paths = doc["paths"]
    for entity in ("deals", "clients"):
        item = paths[f"/api/v1/{entity}/{{id}}/notes"]
        assert set(item) == {"get", "post"}
        assert item["post"]["responses"]["404"]["x-error-codes"] == ["not_found", f"{entity[:-1]}_not_found"]
        assert "record_deleted" in item["post"]["responses"]["409"]["x-error-codes"]
        assert "201" in item["post"]["responses"]
    note = paths["/api/v1/notes/{id}"]
    assert set(note) == {"patch", "delete"}
    for method in ("patch", "delete"):
        assert note[method]["responses"]["403"]["x-error-codes"] == ["forbidden", "note_author_only"]
        assert note[method]["responses"]["404"]["x-error-codes"] == ["not_found", "note_not_found"]
    assert paths["/api/v1/tasks/{id}"]["delete"]["responses"]["404"]["x-error-codes"] == ["not_found",
                                                                                         "task_not_found"]
    due = next(p for p in paths["/api/v1/tasks"]["get"]["parameters"] if p["name"] == "due")
    assert due["schema"]["enum"] == ["", "overdue", "today", "upcoming"]
