"""Deals and clients side by side: one table of what differs, so their shared code is written once.

A record is a deal or a client: both live in a stage of a funnel, have a responsible user, custom
values, history and soft delete, and publish the same family of events. `KINDS` names, per kind,
its table, its built-in fields, how its values and its event snapshot are read from a row, how
edited values are written back, and its events. Tasks are not records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from crm.records.events.v1 import records_events_pb2 as ev
from crm_platform.topics import topics_in
from crm_records.adapters.orm import Client, Deal, Task
from crm_records.domain import model

TOPICS = topics_in(ev)
SOURCES = {"user": ev.CHANGE_SOURCE_USER, "automation": ev.CHANGE_SOURCE_AUTOMATION,
           "system": ev.CHANGE_SOURCE_SYSTEM}


def deal_values(d) -> dict[str, Any]:
    return {"title": d.title, "amount": d.amount or None, "client_id": d.client_id,
            "responsible_id": d.responsible_id, **(d.fields or {})}


def client_values(c) -> dict[str, Any]:
    return {"name": c.name, "phone": c.phone, "email": c.email, "responsible_id": c.responsible_id,
            **(c.fields or {})}


def name_lc(name: str, email: str | None) -> str:
    """What a client's search by name matches: name and email, lower case."""
    return f"{name} {email or ''}".strip().lower()[:600]


def _assign_deal(d: Deal, after: dict[str, Any]) -> None:
    d.title = after["title"]
    d.title_lc = d.title.lower()[:200]  # lower() may lengthen a few letters (İ)
    d.amount = after["amount"] or 0
    d.client_id = after["client_id"]
    d.responsible_id = after["responsible_id"]


def _assign_client(c: Client, after: dict[str, Any]) -> None:
    c.name = after["name"]
    c.phone = after["phone"]
    if not c.phone:
        c.phone_country = None
    c.email = after["email"]
    c.name_lc = name_lc(c.name, c.email)
    c.responsible_id = after["responsible_id"]


def deal_snapshot(d, group: str) -> ev.DealSnapshot:
    return ev.DealSnapshot(id=d.id, title=d.title, amount_tiyin=d.amount, client_id=d.client_id or "",
                           funnel_id=d.funnel_id, stage_id=d.stage_id, stage_group_key=group,
                           responsible_id=d.responsible_id, created_by=d.created_by,
                           fields_json=json.dumps(d.fields or {}, ensure_ascii=False))


def client_snapshot(c, group: str) -> ev.ClientSnapshot:
    return ev.ClientSnapshot(id=c.id, name=c.name, phone=c.phone or "", email=c.email or "",
                             funnel_id=c.funnel_id, stage_id=c.stage_id, stage_group_key=group,
                             responsible_id=c.responsible_id, created_by=c.created_by,
                             fields_json=json.dumps(c.fields or {}, ensure_ascii=False))


def task_snapshot(t: Task) -> ev.TaskSnapshot:
    return ev.TaskSnapshot(id=t.id, type=t.type, comment=t.comment or "", due_at=model.iso(t.due_at),
                           responsible_id=t.responsible_id, deal_id=t.deal_id or "",
                           client_id=t.client_id or "", done=t.done, process_id=t.process_id or "")


@dataclass(frozen=True)
class Kind:
    """What the shared record code needs to know of deals or of clients."""

    name: str  # "deal" or "client": history's entity, the events' snapshot field, the counters' entity
    model: type
    label: str
    not_found: str  # the error code of a missing one
    builtins: tuple[str, ...]  # the fields that are columns; the rest are custom values
    own: tuple  # the columns its snapshot needs besides the shared ones (a bulk change reads only those)
    values: Callable[[Any], dict[str, Any]]
    assign: Callable[[Any, dict[str, Any]], None]  # write edited built-in values into the row
    snapshot: Callable[[Any, str], Any]
    created: type
    updated: type
    stage_changed: type
    responsible_changed: type
    deleted: type
    restored: type

    def event(self, cls: type, snapshot, **fields):
        """An event of this kind about `snapshot`."""
        return cls(**{self.name: snapshot}, **fields)


DEAL = Kind("deal", Deal, "Deal", "deal_not_found", ("title", "amount", "client_id", "responsible_id"),
            (Deal.title, Deal.amount, Deal.client_id), deal_values, _assign_deal, deal_snapshot,
            ev.DealCreated, ev.DealUpdated, ev.DealStageChanged, ev.DealResponsibleChanged, ev.DealDeleted,
            ev.DealRestored)
CLIENT = Kind("client", Client, "Client", "client_not_found", ("name", "phone", "email", "responsible_id"),
              (Client.name, Client.phone, Client.email), client_values, _assign_client, client_snapshot,
              ev.ClientCreated, ev.ClientUpdated, ev.ClientStageChanged, ev.ClientResponsibleChanged,
              ev.ClientDeleted, ev.ClientRestored)
KINDS = {k.name: k for k in (DEAL, CLIENT)}
