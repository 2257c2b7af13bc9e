"""Pipeline resources: funnels with their groups and stages, stage rules, the palette, custom fields."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from flask import Blueprint, jsonify
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from crm_gateway.api import Api, Schema
from crm_gateway.clients import pipeline as clients

bp = Blueprint("pipeline", __name__)
api = Api(bp, "pipeline")

Entity = Literal["deal", "client"]
GroupKey = Literal["unprocessed", "in_progress", "failed", "successful"]
FieldType = Literal["text", "number", "money", "date", "datetime", "select", "multiselect", "checkbox", "phone",
                    "email", "url", "autodate", "autonumber"]
Id = Field(min_length=1, max_length=64)
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def _check_color(value: str) -> str:
    if not _COLOR.match(value.strip()):
        raise PydanticCustomError("invalid_color", "Enter a color as #RRGGBB.")
    return value


Color = Annotated[str, Field(min_length=1, max_length=32, description="#RRGGBB: a palette color or any other",
                             json_schema_extra={"pattern": "^#[0-9A-Fa-f]{6}$"}), AfterValidator(_check_color)]
FieldKey = Annotated[str, Field(min_length=1, max_length=50)]
FieldKeys = Field(default_factory=list, max_length=300, description="Field keys (built-in or custom)")


# ---- schemas -------------------------------------------------------------------------------
class StageOut(BaseModel):
    id: str
    name: str
    color: str = Field(description="#RRGGBB", examples=["#4CAF50"])
    position: int = Field(description="Zero-based position within the group")


class StageGroupOut(BaseModel):
    key: GroupKey = Field(description="One of the four fixed groups; they cannot be renamed or deleted")
    stages: list[StageOut]


class FunnelOut(BaseModel):
    id: str
    name: str
    entity: Entity
    version: int = Field(description="Send it back with PUT; a stale one answers 409 stale_version")
    updated_at: str
    groups: list[StageGroupOut]


class FunnelList(BaseModel):
    items: list[FunnelOut]
    next_cursor: str | None = None


class FunnelQuery(Schema):
    entity: Entity | None = None


class StageIn(Schema):
    id: str | None = Field(None, max_length=64, description="Absent (or null) for a new stage")
    name: str = Field(min_length=1, max_length=50)
    color: Color


class StageGroupIn(Schema):
    key: GroupKey
    stages: list[StageIn] = Field(max_length=50)


class RemovalIn(Schema):
    stage_id: str = Id
    move_to_stage_id: str = Field(min_length=1, max_length=64, description="A stage that remains in this funnel")


class FunnelPut(Schema):
    version: int = Field(ge=1, le=2**53 - 1)
    name: str | None = Field(None, min_length=1, max_length=100)
    groups: list[StageGroupIn] = Field(min_length=1, max_length=8, description="All four groups, each once")
    removed: list[RemovalIn] = Field(default_factory=list, max_length=200,
                                     description="Every stage left out of `groups`, with where its records go")


class Rules(BaseModel):
    stage_id: str
    required: list[str]
    one_time: list[str]
    autodate: list[str]
    autonumber: list[str]


class RulesIn(Schema):
    required: list[FieldKey] = FieldKeys
    one_time: list[FieldKey] = FieldKeys
    autodate: list[FieldKey] = FieldKeys
    autonumber: list[FieldKey] = FieldKeys


class Palette(BaseModel):
    colors: list[str]


class FieldOut(BaseModel):
    id: str
    entity: Entity
    key: str
    name: str
    type: FieldType
    options: list[str]
    position: int
    created_at: str


class FieldList(BaseModel):
    items: list[FieldOut]
    next_cursor: str | None = None


class FieldQuery(Schema):
    entity: Entity | None = None


class FieldIn(Schema):
    entity: Entity
    key: str = Field(min_length=1, max_length=50, json_schema_extra={"pattern": r"^\s*[a-z][a-z0-9_]*\s*$"},
                     description="Lowercase letters, digits, _; starts with a letter (surrounding spaces are "
                                 "dropped); not a built-in field's key (422 `key_reserved`)")
    name: str = Field(min_length=1, max_length=100)
    type: FieldType
    options: list[str] = Field(default_factory=list, max_length=200, description="select and multiselect only")


class FieldPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    options: list[str] | None = Field(None, max_length=200)


# ---- proto -> JSON -------------------------------------------------------------------------
def funnel_json(f) -> dict:
    return {"id": f.id, "name": f.name, "entity": f.entity, "version": f.version,
            "updated_at": f.updated_at,
            "groups": [{"key": g.key, "stages": [{"id": s.id, "name": s.name, "color": s.color,
                                                  "position": s.position} for s in g.stages]} for g in f.groups]}


def rules_json(r) -> dict:
    return {"stage_id": r.stage_id, "required": list(r.required), "one_time": list(r.one_time),
            "autodate": list(r.autodate), "autonumber": list(r.autonumber)}


def field_json(f) -> dict:
    return {"id": f.id, "entity": f.entity, "key": f.key, "name": f.name, "type": f.type,
            "options": list(f.options), "position": f.position, "created_at": f.created_at}


# ---- funnels -------------------------------------------------------------------------------
@api.operation("GET", "/api/v1/funnels", "The company's funnels (deal and client) with groups and stages",
               query=FunnelQuery, response=FunnelList)
def list_funnels(query: FunnelQuery):
    funnels = clients.list_funnels(query.entity or "").funnels
    return jsonify({"items": [funnel_json(f) for f in funnels], "next_cursor": None})


@api.operation("GET", "/api/v1/funnels/{id}", "One funnel: the four groups, each with its ordered stages",
               response=FunnelOut, errors=(404,),
               codes={404: ("funnel_not_found",)})
def get_funnel(id: str):  # noqa: A002 - the path parameter's name
    return jsonify(funnel_json(clients.get_funnel(id).funnel))


@api.operation("PUT", "/api/v1/funnels/{id}", "Save the edited funnel as a whole (admin)", body=FunnelPut,
               response=FunnelOut, permission="manage_funnels", errors=(404, 409),
               description="Send the GET document back with your edits: stages without `id` are added, the order "
                           "of `stages` is their new order (also across groups), and every stage left out must be "
                           "listed in `removed` with `move_to_stage_id`, a remaining stage of this funnel where its "
                           "records go. Every group keeps at least one stage. A `version` other than the current "
                           "one answers 409 `stale_version` (reload and edit again).",
               codes={404: ("funnel_not_found",), 409: ("stale_version",)})
def update_funnel(id: str, body: FunnelPut):  # noqa: A002
    data = body.model_dump()
    return jsonify(funnel_json(clients.update_funnel(id, body.version, data["groups"], data["removed"],
                                                     body.name).funnel))


@api.operation("GET", "/api/v1/stages/{id}/rules", "The field rules of a stage", response=Rules, errors=(404,),
               codes={404: ("stage_not_found",)})
def get_rules(id: str):  # noqa: A002
    return jsonify(rules_json(clients.get_stage_rules(id).rules))


@api.operation("PUT", "/api/v1/stages/{id}/rules", "Replace the field rules of a stage (admin)", body=RulesIn,
               response=Rules, permission="manage_funnels", errors=(404,),
               description="`required` and `one_time` take built-in keys (deal: title, amount, client_id, "
                           "responsible_id; client: name, phone, email, responsible_id) or custom field keys of "
                           "the funnel's entity; `autodate` and `autonumber` take custom fields of that type.",
               codes={404: ("stage_not_found",)})
def update_rules(id: str, body: RulesIn):  # noqa: A002
    return jsonify(rules_json(clients.update_stage_rules(id, body.model_dump()).rules))


@api.operation("GET", "/api/v1/palette", "The preset stage colors", response=Palette)
def palette():
    return jsonify({"colors": list(clients.get_palette().colors)})


# ---- custom fields -------------------------------------------------------------------------
@api.operation("GET", "/api/v1/fields", "Custom field definitions", query=FieldQuery, response=FieldList)
def list_fields(query: FieldQuery):
    fields = clients.list_fields(query.entity or "").fields
    return jsonify({"items": [field_json(f) for f in fields], "next_cursor": None})


@api.operation("POST", "/api/v1/fields", "Define a custom field of deals or clients (admin)", body=FieldIn,
               response=FieldOut, status=201, permission="manage_funnels", errors=(409,),
               codes={409: ("field_key_taken", "too_many_fields")})
def create_field(body: FieldIn):
    return jsonify(field_json(clients.create_field(**body.model_dump()).field)), 201


@api.operation("PATCH", "/api/v1/fields/{id}", "Rename a field or change its options (admin)", body=FieldPatch,
               response=FieldOut, permission="manage_funnels", errors=(404,),
               description="The key and the type never change: records keep their values by key.",
               codes={404: ("field_not_found",)})
def update_field(id: str, body: FieldPatch):  # noqa: A002
    return jsonify(field_json(clients.update_field(id, body.name, body.options).field))


@api.operation("DELETE", "/api/v1/fields/{id}", "Delete a field; it leaves every stage rule (admin)", status=204,
               permission="manage_funnels", errors=(404,),
               codes={404: ("field_not_found",)})
def delete_field(id: str):  # noqa: A002
    clients.delete_field(id)
    return "", 204
