"""Records resources: countries, clients, deals (with the aggregated card), board, history, tasks, notes."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify

from crm_gateway.api import Api
from crm_gateway.blueprints.records_schemas import (
    CountryList, ClientIn, ClientPatch, ClientOut, ClientList, ClientQuery, DealQuery, DealIn, DealPatch,
    DealOut, DealList, BulkIn, BulkOut, HistoryList, HistoryQuery, TaskIn, TaskPatch, TaskOut, TaskList,
    TaskQuery, TaskTypeOut, TaskTypeList, TaskTypeIn, DealCard, BoardQuery, Board, NoteIn, NotePatch, NoteOut,
    NoteList, NoteQuery)
from crm_gateway.clients import records as clients
from crm_gateway.clients import pipeline as pipeline_clients
from crm_platform.pagination import encode_cursor

bp = Blueprint("records", __name__)
api = Api(bp, "records", ids="record_id")
# A write the target stage's field rules refuse (pipeline's rules, checked by records)
STAGE_RULES = ("required_fields_missing", "read_only_field", "field_write_once")

# ---- proto -> JSON -------------------------------------------------------------------------------
def _or_none(value: str) -> str | None:
    return value or None


def client_json(c) -> dict:
    return {"id": c.id, "name": c.name,
            "phone": {"country": c.phone.country, "number": c.phone.number, "e164": c.phone.e164}
            if c.HasField("phone") else None,
            "email": c.email, "funnel_id": c.funnel_id, "stage_id": c.stage_id, "responsible_id": c.responsible_id,
            "fields": json.loads(c.fields_json or "{}"), "deleted": c.deleted, "deleted_at": _or_none(c.deleted_at),
            "deleted_by": _or_none(c.deleted_by), "created_at": c.created_at, "updated_at": c.updated_at,
            "created_by": c.created_by}


def deal_json(d) -> dict:
    return {"id": d.id, "title": d.title, "amount": d.amount, "amount_tiyin": d.amount_tiyin,
            "client_id": _or_none(d.client_id), "funnel_id": d.funnel_id, "stage_id": d.stage_id,
            "responsible_id": d.responsible_id, "fields": json.loads(d.fields_json or "{}"), "deleted": d.deleted,
            "deleted_at": _or_none(d.deleted_at), "deleted_by": _or_none(d.deleted_by), "created_at": d.created_at,
            "updated_at": d.updated_at, "created_by": d.created_by}


def stage_json(st) -> dict:
    return {"id": st.id, "name": st.name, "color": st.color, "group_key": st.group_key}


def task_json(t) -> dict:
    return {"id": t.id, "type": t.type, "comment": t.comment, "due_at": t.due_at, "responsible_id": t.responsible_id,
            "deal_id": _or_none(t.deal_id), "client_id": _or_none(t.client_id), "done": t.done,
            "done_at": _or_none(t.done_at), "created_at": t.created_at, "created_by": t.created_by,
            "process_id": _or_none(t.process_id), "overdue": t.overdue}


def note_json(n) -> dict:
    return {"id": n.id, "text": n.text, "author_id": n.author_id,
            "deal_id": n.record_id if n.entity == "deal" else None,
            "client_id": n.record_id if n.entity == "client" else None,
            "created_at": n.created_at, "updated_at": n.updated_at}


def history_json(h) -> dict:
    return {"id": h.id, "at": h.at, "actor_id": h.actor_id, "source": h.source, "action": h.action,
            "changes": json.loads(h.changes_json or "[]")}


def _amount(value) -> str:
    return "" if value is None else (value if isinstance(value, str) else repr(value))


def _column_cursor(c, per_stage: int) -> str | None:
    """A board column's cursor into `GET /deals?stage_id=` (its default order, -created_at, is the board's):
    after the column's last deal when the stage holds more than it shows."""
    if len(c.deals) < per_stage or c.count <= len(c.deals):
        return None
    last = c.deals[-1]
    return encode_cursor("-created_at", last.created_at, last.id)


def _page(items: list, cursor: str) -> dict:
    return {"items": items, "next_cursor": cursor or None}


# ---- countries -----------------------------------------------------------------------------------
@api.operation("GET", "/api/v1/countries", "Phone countries: ISO code, dialing code, national lengths, example",
               response=CountryList)
def countries():
    resp = clients.list_countries()
    return jsonify(_page([{"code": c.code, "dialing_code": f"+{c.dialing_code}", "lengths": list(c.lengths),
                           "example": c.example} for c in resp.countries], ""))


# ---- clients -------------------------------------------------------------------------------------
@api.operation("GET", "/api/v1/clients", "List clients (filters, q, sort, cursor)", query=ClientQuery,
               response=ClientList, errors=(422,),
               codes={403: ("forbidden",)})
def list_clients(query: ClientQuery):
    resp = clients.list_clients(**query.model_dump())
    return jsonify(_page([client_json(c) for c in resp.clients], resp.next_cursor))


@api.operation("POST", "/api/v1/clients", "Create a client", body=ClientIn, response=ClientOut, status=201,
               errors=(422,), example={"name": "Olim Tursunov", "phone": {"country": "UZ", "number": "901234567"}},
               codes={422: STAGE_RULES})
def create_client(body: ClientIn):
    resp = clients.create_client(name=body.name, phone=body.phone.model_dump() if body.phone else None,
                                 email=body.email, responsible_id=body.responsible_id, stage_id=body.stage_id,
                                 fields_json=json.dumps(body.fields, ensure_ascii=False))
    return jsonify(client_json(resp.client)), 201


@api.operation("GET", "/api/v1/clients/{id}", "Get a client (deleted ones too, marked deleted)",
               response=ClientOut, errors=(404,),
               codes={404: ("client_not_found",)})
def get_client(id: str):  # noqa: A002 - the path parameter's name
    return jsonify(client_json(clients.get_client(id).client))


@api.operation("PATCH", "/api/v1/clients/{id}", "Edit a client; a new responsible also takes its deals and tasks",
               body=ClientPatch, response=ClientOut, errors=(403, 404, 409, 422),
               codes={403: ("forbidden",), 404: ("client_not_found",), 409: ("record_deleted",), 422: STAGE_RULES})
def update_client(id: str, body: ClientPatch):  # noqa: A002
    changes: dict[str, Any] = {}
    for key in ("name", "email", "responsible_id", "stage_id"):
        if getattr(body, key) is not None:
            changes[key] = getattr(body, key)
    if "phone" in body.model_fields_set:
        changes["phone"] = body.phone.model_dump() if body.phone else None
    if body.fields is not None:
        changes["fields_json"] = json.dumps(body.fields, ensure_ascii=False)
    return jsonify(client_json(clients.update_client(id, changes).client))


@api.operation("DELETE", "/api/v1/clients/{id}", "Delete a client (kept; restorable by an admin)",
               response=ClientOut, errors=(404,),
               codes={404: ("client_not_found",)})
def delete_client(id: str):  # noqa: A002
    return jsonify(client_json(clients.delete_client(id).client))


@api.operation("POST", "/api/v1/clients/{id}/restore", "Restore a deleted client (admin)", response=ClientOut,
               permission="restore_records", errors=(404,),
               codes={404: ("client_not_found",)})
def restore_client(id: str):  # noqa: A002
    return jsonify(client_json(clients.restore_client(id).client))


def _bulk_limit() -> None:
    """A bulk change writes up to 1,000 records and their events: it has a per-company limit of its own."""
    ext = current_app.extensions["crm"]
    ext.limiter.hit(f"bulk:company:{g.principal.company_id}", ext.settings.bulk_per_company_per_minute)


@api.operation("POST", "/api/v1/clients/responsible", "Bulk: new responsible for clients (cascade: their deals "
               "and open tasks too)", body=BulkIn, response=BulkOut, errors=(404, 409, 422),
               codes={404: ("client_not_found",), 409: ("record_deleted",), 422: STAGE_RULES})
def clients_responsible(body: BulkIn):
    _bulk_limit()
    resp = clients.set_clients_responsible(body.ids, body.responsible_id, body.cascade)
    return jsonify({"clients": resp.clients, "deals": resp.deals, "tasks": resp.tasks})


@api.operation("GET", "/api/v1/clients/{id}/history", "A client's timeline of changes, newest first",
               query=HistoryQuery, response=HistoryList, errors=(404,),
               codes={404: ("client_not_found",)})
def client_history(id: str, query: HistoryQuery):  # noqa: A002
    resp = clients.client_history(id, query.limit, query.cursor)
    return jsonify(_page([history_json(h) for h in resp.entries], resp.next_cursor))


# ---- deals ---------------------------------------------------------------------------------------
@api.operation("GET", "/api/v1/deals", "List deals (filters, q, sort, cursor)", query=DealQuery,
               response=DealList, errors=(422,),
               codes={403: ("forbidden",)})
def list_deals(query: DealQuery):
    resp = clients.list_deals(**query.model_dump())
    return jsonify(_page([deal_json(d) for d in resp.deals], resp.next_cursor))


@api.operation("POST", "/api/v1/deals", "Create a deal", body=DealIn, response=DealOut, status=201,
               errors=(422,), example={"title": "10 laptops", "amount": "15000000.50"}, codes={422: STAGE_RULES})
def create_deal(body: DealIn):
    resp = clients.create_deal(title=body.title, amount=_amount(body.amount), client_id=body.client_id,
                               stage_id=body.stage_id, responsible_id=body.responsible_id,
                               fields_json=json.dumps(body.fields, ensure_ascii=False))
    return jsonify(deal_json(resp.deal)), 201


@api.operation("GET", "/api/v1/deals/{id}", "The deal card: deal, client, stage, responsible's name, open tasks, "
               "last history", response=DealCard, errors=(404,),
               codes={404: ("deal_not_found",)})
def get_deal(id: str):  # noqa: A002
    # One call: records answers with the stage and the responsible's name from its caches (kept fresh by
    # pipeline's and identity's events); a part it could not learn is left out and named in `unavailable`.
    resp = clients.get_deal(id, history_limit=10)  # the owning service: down means 503
    deal = resp.deal
    unavailable: list[str] = []
    card = deal_json(deal)
    card["client"] = client_json(resp.client) if resp.HasField("client") else None
    if resp.HasField("stage"):
        card["stage"] = stage_json(resp.stage)
    else:
        card["stage"] = None
        unavailable.append("stage")
    if not resp.HasField("responsible"):
        unavailable.append("responsible")
    card["responsible"] = {"id": deal.responsible_id, "name": resp.responsible.name}
    card["tasks"] = [task_json(t) for t in resp.open_tasks]
    card["history"] = [history_json(h) for h in resp.history]
    card["unavailable"] = unavailable
    return jsonify(card)


@api.operation("PATCH", "/api/v1/deals/{id}", "Edit a deal: values, stage (its funnel follows), responsible",
               body=DealPatch, response=DealOut, errors=(404, 409, 422),
               codes={404: ("deal_not_found",), 409: ("record_deleted",), 422: STAGE_RULES})
def update_deal(id: str, body: DealPatch):  # noqa: A002
    changes: dict[str, Any] = {}
    for key in ("title", "client_id", "stage_id", "responsible_id"):
        if getattr(body, key) is not None:
            changes[key] = getattr(body, key)
    if "amount" in body.model_fields_set:
        changes["amount"] = _amount(body.amount)
    if body.fields is not None:
        changes["fields_json"] = json.dumps(body.fields, ensure_ascii=False)
    return jsonify(deal_json(clients.update_deal(id, changes).deal))


@api.operation("DELETE", "/api/v1/deals/{id}", "Delete a deal (kept; restorable by an admin)", response=DealOut,
               errors=(404,),
               codes={404: ("deal_not_found",)})
def delete_deal(id: str):  # noqa: A002
    return jsonify(deal_json(clients.delete_deal(id).deal))


@api.operation("POST", "/api/v1/deals/{id}/restore", "Restore a deleted deal (admin)", response=DealOut,
               permission="restore_records", errors=(404,),
               codes={404: ("deal_not_found",)})
def restore_deal(id: str):  # noqa: A002
    return jsonify(deal_json(clients.restore_deal(id).deal))


@api.operation("POST", "/api/v1/deals/responsible", "Bulk: new responsible for deals (cascade: their clients too)",
               body=BulkIn, response=BulkOut, errors=(404, 409, 422),
               codes={404: ("deal_not_found",), 409: ("record_deleted",), 422: STAGE_RULES})
def deals_responsible(body: BulkIn):
    _bulk_limit()
    resp = clients.set_deals_responsible(body.ids, body.responsible_id, body.cascade)
    return jsonify({"deals": resp.deals, "clients": resp.clients, "tasks": 0})


@api.operation("GET", "/api/v1/deals/{id}/history", "A deal's timeline of changes, newest first",
               query=HistoryQuery, response=HistoryList, errors=(404,),
               codes={404: ("deal_not_found",)})
def deal_history(id: str, query: HistoryQuery):  # noqa: A002
    resp = clients.deal_history(id, query.limit, query.cursor)
    return jsonify(_page([history_json(h) for h in resp.entries], resp.next_cursor))


@api.operation("GET", "/api/v1/board", "Kanban: each stage of the funnel with its count, sum and first deals",
               query=BoardQuery, response=Board, errors=(404, 422),
               codes={404: ("funnel_not_found",)})
def board(query: BoardQuery):
    # One call: records takes the funnel's stages from its cache of pipeline (dropped on FunnelChanged).
    funnel_id = query.funnel_id or pipeline_clients.list_funnels("deal").funnels[0].id
    resp = clients.board(funnel_id, query.per_stage)
    return jsonify({"funnel_id": funnel_id, "columns": [
        # a stage that left the funnel but still holds deals is known by its id only
        {"stage": stage_json(c.stage) if c.HasField("stage") else {"id": c.stage_id}, "count": c.count,
         "sum": f"{c.amount_tiyin // 100}.{c.amount_tiyin % 100:02d}", "sum_tiyin": c.amount_tiyin,
         "deals": [deal_json(d) for d in c.deals], "next_cursor": _column_cursor(c, query.per_stage)}
        for c in resp.columns]})


# ---- tasks ---------------------------------------------------------------------------------------
@api.operation("GET", "/api/v1/tasks", "List tasks, soonest due first (due: overdue, today, upcoming)",
               query=TaskQuery, response=TaskList, errors=(422,))
def list_tasks(query: TaskQuery):
    filters = query.model_dump(exclude_none=True)
    resp = clients.list_tasks(**filters)
    return jsonify(_page([task_json(t) for t in resp.tasks], resp.next_cursor))


@api.operation("POST", "/api/v1/tasks", "Create a task", body=TaskIn, response=TaskOut, status=201,
               errors=(422,), example={"type": "call", "comment": "Call back", "due_at": "2026-12-01T09:00:00Z"})
def create_task(body: TaskIn):
    return jsonify(task_json(clients.create_task(**body.model_dump()).task)), 201


@api.operation("PATCH", "/api/v1/tasks/{id}", "Edit a task or mark it done", body=TaskPatch, response=TaskOut,
               errors=(404, 422),
               codes={404: ("task_not_found",)})
def update_task(id: str, body: TaskPatch):  # noqa: A002
    return jsonify(task_json(clients.update_task(id, body.model_dump(exclude_none=True)).task))


@api.operation("DELETE", "/api/v1/tasks/{id}", "Delete a task", response=TaskOut, errors=(404,),
               codes={404: ("task_not_found",)})
def delete_task(id: str):  # noqa: A002
    return jsonify(task_json(clients.delete_task(id).task))


@api.operation("GET", "/api/v1/task-types", "Task types: built-in ones and the company's own",
               response=TaskTypeList)
def task_types():
    resp = clients.list_task_types()
    return jsonify(_page([{"key": t.key, "name": t.name, "builtin": t.builtin} for t in resp.types], ""))


@api.operation("POST", "/api/v1/task-types", "Add a task type to the company's list (admin)", body=TaskTypeIn,
               response=TaskTypeOut, status=201, permission="admin", errors=(409,),
               codes={409: ("task_type_exists",)})
def create_task_type(body: TaskTypeIn):
    t = clients.create_task_type(body.name).type
    return jsonify({"key": t.key, "name": t.name, "builtin": t.builtin}), 201


# ---- notes ---------------------------------------------------------------------------------------
@api.operation("GET", "/api/v1/deals/{id}/notes", "A deal's notes, newest first", query=NoteQuery,
               response=NoteList, errors=(404,), codes={404: ("deal_not_found",)})
def list_deal_notes(id: str, query: NoteQuery):  # noqa: A002
    resp = clients.list_notes("deal", id, query.limit, query.cursor)
    return jsonify(_page([note_json(n) for n in resp.notes], resp.next_cursor))


@api.operation("POST", "/api/v1/deals/{id}/notes", "Add a note to a deal (an entry of its timeline, note_added)",
               body=NoteIn, response=NoteOut, status=201, errors=(404, 409), example={"text": "Asked for an offer"},
               codes={404: ("deal_not_found",), 409: ("record_deleted",)})
def create_deal_note(id: str, body: NoteIn):  # noqa: A002
    return jsonify(note_json(clients.create_note("deal", id, body.text).note)), 201


@api.operation("GET", "/api/v1/clients/{id}/notes", "A client's notes, newest first", query=NoteQuery,
               response=NoteList, errors=(404,), codes={404: ("client_not_found",)})
def list_client_notes(id: str, query: NoteQuery):  # noqa: A002
    resp = clients.list_notes("client", id, query.limit, query.cursor)
    return jsonify(_page([note_json(n) for n in resp.notes], resp.next_cursor))


@api.operation("POST", "/api/v1/clients/{id}/notes", "Add a note to a client (an entry of its timeline, "
               "note_added)", body=NoteIn, response=NoteOut, status=201, errors=(404, 409),
               example={"text": "Prefers calls after 14:00"},
               codes={404: ("client_not_found",), 409: ("record_deleted",)})
def create_client_note(id: str, body: NoteIn):  # noqa: A002
    return jsonify(note_json(clients.create_note("client", id, body.text).note)), 201


_NOTE_WRITE = {403: ("note_author_only",), 404: ("note_not_found",),
               409: ("record_deleted",)}


@api.operation("PATCH", "/api/v1/notes/{id}", "Edit a note's text (its author or an admin)", body=NotePatch,
               response=NoteOut, errors=(403, 404, 409), codes=_NOTE_WRITE, body_required=True)
def update_note(id: str, body: NotePatch):  # noqa: A002
    return jsonify(note_json(clients.update_note(id, body.text).note))


@api.operation("DELETE", "/api/v1/notes/{id}", "Delete a note (its author or an admin)", response=NoteOut,
               errors=(403, 404, 409), codes=_NOTE_WRITE)
def delete_note(id: str):  # noqa: A002
    return jsonify(note_json(clients.delete_note(id).note))
