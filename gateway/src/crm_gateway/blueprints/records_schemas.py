"""The request and response schemas of the records resources (what the OpenAPI document shows)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from crm_gateway.api import Schema

Id = Field("", max_length=64)
Amount = StrictStr | StrictInt | StrictFloat


class CountryOut(BaseModel):
    code: str = Field(examples=["UZ"])
    dialing_code: str = Field(examples=["+998"])
    lengths: list[int] = Field(examples=[[9]])
    example: str = Field(examples=["912345678"])


class CountryList(BaseModel):
    items: list[CountryOut]
    next_cursor: str | None = None


class PhoneIn(Schema):
    country: str = Field(min_length=1, max_length=3, examples=["UZ"])
    number: str = Field(max_length=20, description="Digits only, without the country code", examples=["901234567"])


class PhoneOut(BaseModel):
    country: str
    number: str
    e164: str


class ClientIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    phone: PhoneIn | None = None
    email: str = Field("", max_length=320)
    responsible_id: str = Id
    stage_id: str = Id
    fields: dict[str, Any] = Field(default_factory=dict, description="Custom field key -> value")


class ClientPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    phone: PhoneIn | None = Field(None, description="null clears the phone (needs edit_phone)")
    email: str | None = Field(None, max_length=320)
    responsible_id: str | None = Field(None, min_length=1, max_length=64)
    stage_id: str | None = Field(None, min_length=1, max_length=64)
    fields: dict[str, Any] | None = None


class ClientOut(BaseModel):
    id: str
    name: str
    phone: PhoneOut | None
    email: str
    funnel_id: str
    stage_id: str
    responsible_id: str
    fields: dict[str, Any]
    deleted: bool
    deleted_at: str | None
    deleted_by: str | None
    created_at: str
    updated_at: str
    created_by: str


class ClientList(BaseModel):
    items: list[ClientOut]
    next_cursor: str | None = None


class ListQuery(Schema):
    funnel_id: str = Id
    stage_id: str = Id
    responsible_id: str = Id
    q: str = Field("", max_length=200)
    deleted: bool = Field(False, description="true lists only deleted records")
    sort: str = Field("", max_length=20, description="created_at, -created_at (default), updated_at, ... ")
    limit: int = Field(50, ge=1, le=200)
    cursor: str = Field("", max_length=500)


class DealQuery(ListQuery):
    client_id: str = Id


class DealIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    amount: Amount | None = Field(None, description="UZS as a decimal string or number; kept as tiyin")
    client_id: str = Id
    stage_id: str = Id
    responsible_id: str = Id
    fields: dict[str, Any] = Field(default_factory=dict)


class DealPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    amount: Amount | None = None
    client_id: str | None = Field(None, max_length=64, description="empty unlinks the client")
    stage_id: str | None = Field(None, min_length=1, max_length=64)
    responsible_id: str | None = Field(None, min_length=1, max_length=64)
    fields: dict[str, Any] | None = None


class DealOut(BaseModel):
    id: str
    title: str
    amount: str = Field(description="UZS with two decimals", examples=["1500.50"])
    amount_tiyin: int
    client_id: str | None
    funnel_id: str
    stage_id: str
    responsible_id: str
    fields: dict[str, Any]
    deleted: bool
    deleted_at: str | None
    deleted_by: str | None
    created_at: str
    updated_at: str
    created_by: str


class DealList(BaseModel):
    items: list[DealOut]
    next_cursor: str | None = None


class BulkIn(Schema):
    ids: list[str] = Field(min_length=1, max_length=10000)
    responsible_id: str = Field(min_length=1, max_length=64)
    cascade: bool = Field(False, description="also the linked clients (for deals) / deals and open tasks "
                                             "(for clients)")


class BulkOut(BaseModel):
    deals: int
    clients: int
    tasks: int = 0


class HistoryOut(BaseModel):
    id: str
    at: str
    actor_id: str
    source: str = Field(description="user, automation or system")
    action: str
    changes: list[dict[str, Any]] = Field(description="{field, old, new}")


class HistoryList(BaseModel):
    items: list[HistoryOut]
    next_cursor: str | None = None


class HistoryQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: str = Field("", max_length=500)


class TaskIn(Schema):
    type: str = Field(min_length=1, max_length=60)
    comment: str = Field("", max_length=5000)
    due_at: str = Field(min_length=1, max_length=64, description="RFC 3339 with a zone")
    responsible_id: str = Id
    deal_id: str = Id
    client_id: str = Id


class TaskPatch(Schema):
    type: str | None = Field(None, min_length=1, max_length=60)
    comment: str | None = Field(None, max_length=5000)
    due_at: str | None = Field(None, min_length=1, max_length=64)
    responsible_id: str | None = Field(None, min_length=1, max_length=64)
    done: bool | None = None


class TaskOut(BaseModel):
    id: str
    type: str
    comment: str
    due_at: str
    responsible_id: str
    deal_id: str | None
    client_id: str | None
    done: bool
    done_at: str | None
    created_at: str
    created_by: str
    process_id: str | None


class TaskList(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = None


class TaskQuery(Schema):
    deal_id: str = Id
    client_id: str = Id
    responsible_id: str = Id
    done: bool | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: str = Field("", max_length=500)


class TaskTypeOut(BaseModel):
    key: str
    name: str
    builtin: bool


class TaskTypeList(BaseModel):
    items: list[TaskTypeOut]
    next_cursor: str | None = None


class TaskTypeIn(Schema):
    name: str = Field(min_length=1, max_length=50)


class StageBrief(BaseModel):
    id: str
    name: str
    color: str
    group_key: str


class UserBrief(BaseModel):
    id: str
    name: str


class DealCard(DealOut):
    client: ClientOut | None
    stage: StageBrief | None
    responsible: UserBrief | None
    tasks: list[TaskOut]
    history: list[HistoryOut]
    unavailable: list[Literal["stage", "responsible"]] = Field(
        default_factory=list, description="Parts left out because their service did not answer")


class BoardQuery(Schema):
    funnel_id: str = Field(min_length=1, max_length=64)
    per_stage: int = Field(20, ge=1, le=100)


class BoardColumn(BaseModel):
    stage: StageBrief | dict
    count: int
    sum: str
    sum_tiyin: int
    deals: list[DealOut]


class Board(BaseModel):
    funnel_id: str
    columns: list[BoardColumn]
