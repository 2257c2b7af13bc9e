"""Business processes (F17): definitions (admin writes) and what each one did."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from crm_gateway.api import Api, Schema
from crm_gateway.clients import automation as clients
from crm_gateway.schemas import Cursor

bp = Blueprint("automation", __name__)
api = Api(bp, "automation")

TriggerEvent = Literal["deal.created", "deal.stage_changed", "deal.responsible_changed", "client.created",
                       "client.stage_changed", "client.responsible_changed"]
Due = Literal["today", "next_day", "week", "month"]
Assignee = Literal["responsible", "author"]
Group = Literal["unprocessed", "in_progress", "failed", "successful"]


class TriggerIn(Schema):
    event: TriggerEvent
    stage_id: str | None = Field(None, max_length=64, description="For *.stage_changed: only entering this stage")


class ConditionsIn(Schema):
    funnel_id: str | None = Field(None, max_length=64)
    stage_group: Group | None = None


class ProcessIn(Schema):
    name: str = Field("", max_length=100)
    type: Literal["task"] = "task"
    trigger: TriggerIn
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    due: Due
    assignee: Assignee
    task_type: str = Field(min_length=1, max_length=50)
    comment: str = Field(min_length=1, max_length=2000)
    enabled: bool = True


class ProcessPatch(Schema):
    name: str | None = Field(None, max_length=100)
    trigger: TriggerIn | None = None
    conditions: ConditionsIn | None = None
    due: Due | None = None
    assignee: Assignee | None = None
    task_type: str | None = Field(None, min_length=1, max_length=50)
    comment: str | None = Field(None, min_length=1, max_length=2000)
    enabled: bool | None = None


class TriggerOut(BaseModel):
    event: str
    stage_id: str | None


class ConditionsOut(BaseModel):
    funnel_id: str | None
    stage_group: str | None


class ProcessOut(BaseModel):
    id: str
    name: str
    type: str
    trigger: TriggerOut
    conditions: ConditionsOut
    due: str
    assignee: str
    task_type: str
    comment: str
    enabled: bool
    author_id: str
    created_at: str
    updated_at: str


class ProcessList(BaseModel):
    items: list[ProcessOut]
    next_cursor: str | None = None


class RunOut(BaseModel):
    id: str
    process_id: str
    event_id: str
    event: str
    record_type: str
    record_id: str
    outcome: Literal["running", "succeeded", "failed"]
    task_id: str | None
    error: str | None
    attempts: int
    created_at: str
    finished_at: str | None


class RunList(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = None


class RunQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: Cursor = ""


def process_json(p) -> dict:
    return {"id": p.id, "name": p.name, "type": p.type,
            "trigger": {"event": p.trigger.event, "stage_id": p.trigger.stage_id or None},
            "conditions": {"funnel_id": p.conditions.funnel_id or None,
                           "stage_group": p.conditions.stage_group or None},
            "due": p.due, "assignee": p.assignee, "task_type": p.task_type, "comment": p.comment,
            "enabled": p.enabled, "author_id": p.author_id, "created_at": p.created_at, "updated_at": p.updated_at}


def run_json(r) -> dict:
    return {"id": r.id, "process_id": r.process_id, "event_id": r.event_id, "event": r.event,
            "record_type": r.record_type, "record_id": r.record_id, "outcome": r.outcome,
            "task_id": r.task_id or None, "error": r.error or None, "attempts": r.attempts,
            "created_at": r.created_at, "finished_at": r.finished_at or None}


@api.operation("GET", "/api/v1/processes", "List business processes", response=ProcessList)
def list_processes():
    return jsonify({"items": [process_json(p) for p in clients.list_processes().processes], "next_cursor": None})


@api.operation("POST", "/api/v1/processes", "Create a business process (admin)", body=ProcessIn,
               response=ProcessOut, status=201, errors=(403,),
               example={"type": "task", "trigger": {"event": "deal.stage_changed", "stage_id": None},
                        "due": "next_day", "assignee": "responsible", "task_type": "call",
                        "comment": "Call the client about the offer", "enabled": True}, permission="manage_processes")
def create_process(body: ProcessIn):
    return jsonify(process_json(clients.create_process(body.model_dump()).process)), 201


@api.operation("GET", "/api/v1/processes/{id}", "Get a business process", response=ProcessOut,
               codes={404: ("process_not_found",)})
def get_process(id: str):  # noqa: A002
    return jsonify(process_json(clients.get_process(id).process))


@api.operation("PATCH", "/api/v1/processes/{id}", "Change a business process or switch it off (admin)",
               body=ProcessPatch, response=ProcessOut, errors=(403,), permission="manage_processes",
               codes={404: ("process_not_found",)})
def update_process(id: str, body: ProcessPatch):  # noqa: A002
    current = process_json(clients.get_process(id).process)
    merged = {**current, **body.model_dump(exclude_unset=True, exclude_none=True)}
    return jsonify(process_json(clients.update_process(id, merged).process))


@api.operation("DELETE", "/api/v1/processes/{id}", "Delete a business process (admin)", status=204,
               errors=(403,), permission="manage_processes",
               codes={404: ("process_not_found",)})
def delete_process(id: str):  # noqa: A002
    clients.delete_process(id)
    return "", 204


@api.operation("GET", "/api/v1/processes/{id}/runs", "What a process did, event by event (newest first)",
               query=RunQuery, response=RunList,
               codes={404: ("process_not_found",)})
def list_runs(id: str, query: RunQuery):  # noqa: A002
    resp = clients.list_runs(id, query.limit, query.cursor)
    return jsonify({"items": [run_json(r) for r in resp.runs], "next_cursor": resp.next_cursor or None})
