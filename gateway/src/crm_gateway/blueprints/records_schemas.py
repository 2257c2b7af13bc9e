"""The request and response schemas of the records resources (what the OpenAPI document shows)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from crm_gateway.api import _BLANK, Schema
from crm_gateway.schemas import EMAIL_OR_EMPTY, Cursor, DateTime, PhoneIn

Id = Field("", max_length=64)
# UZS, at most 10^15 (records' MAX_AMOUNT_TIYIN) with at most two decimals: a string of digits (spaces
# may group them, a comma may stand for the point), or a number. A binary float's decimals are not
# expressible in JSON Schema (`multipleOf: 0.01` misjudges 97416821.96), so a number with more than two
# decimals is refused by records with `too_many_decimals`, as the description says.
_AMOUNT_MAX = 10 ** 15
_AMOUNT_PATTERN = r"^( *([0-9] *){1,16}([.,][0-9]{1,2})? *)?$"


def _check_amount(value: Any) -> Any:
    """One error for the field, whichever form was sent (a union would name each form's failure), with
    records' codes: a text the pattern refuses is too small (negative), has too many decimals, is too
    large (more than 16 digits) or is no amount at all."""
    if isinstance(value, str):
        if len(value) <= 40 and re.fullmatch(_AMOUNT_PATTERN, value):
            return value
        number = value.strip().replace(" ", "").replace(",", ".")
        if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", number):
            raise PydanticCustomError("invalid_amount", "Enter an amount in UZS.")
        if number.startswith("-") and number.strip("-0.") != "":
            raise PydanticCustomError("too_small", "Too small.", {"ge": 0})
        if "." in number and len(number.split(".")[1]) > 2:
            raise PydanticCustomError("too_many_decimals", "At most two decimals.", {"max": 2})
        raise PydanticCustomError("too_large", "Too large.", {"le": _AMOUNT_MAX})
    elif isinstance(value, bool):
        raise PydanticCustomError("invalid_type", "Enter an amount in UZS.")
    elif isinstance(value, (int, float)):
        if value < 0:
            raise PydanticCustomError("too_small", "Too small.", {"ge": 0})
        if value > _AMOUNT_MAX:
            raise PydanticCustomError("too_large", "Too large.", {"le": _AMOUNT_MAX})
    else:
        raise PydanticCustomError("invalid_amount", "Enter an amount in UZS.")
    return value


Amount = Annotated[Any, AfterValidator(_check_amount), WithJsonSchema({"anyOf": [
    {"type": "string", "maxLength": 40, "pattern": _AMOUNT_PATTERN},
    {"type": "integer", "minimum": 0, "maximum": _AMOUNT_MAX},
    {"type": "number", "minimum": 0, "maximum": _AMOUNT_MAX}]})]


class CountryOut(BaseModel):
    code: str = Field(examples=["UZ"])
    dialing_code: str = Field(examples=["+998"])
    lengths: list[int] = Field(examples=[[9]])
    example: str = Field(examples=["912345678"])


class CountryList(BaseModel):
    items: list[CountryOut]
    next_cursor: str | None = None


class PhoneOut(BaseModel):
    country: str
    number: str
    e164: str


class ClientIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    phone: PhoneIn | None = None
    email: str = Field("", max_length=320, json_schema_extra={"pattern": EMAIL_OR_EMPTY}, description="Empty for none")
    responsible_id: str = Id
    stage_id: str = Id
    fields: dict[str, Any] = Field(default_factory=dict, description="Custom field key -> value")


class ClientPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    phone: PhoneIn | None = Field(None, description="null clears the phone (needs edit_phone)")
    email: str | None = Field(None, max_length=320, json_schema_extra={"pattern": EMAIL_OR_EMPTY}, description="Empty clears it")
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
    limit: int = Field(50, ge=1, le=200)
    cursor: Cursor = ""


def _sorts(*columns: str):
    return Literal[("",) + tuple(c for name in columns for c in (name, "-" + name))]


class ClientQuery(ListQuery):
    sort: _sorts("created_at", "updated_at", "name") = Field(
        "", description="A column, descending with a leading `-`; empty is -created_at")


class DealQuery(ListQuery):
    client_id: str = Id
    sort: _sorts("created_at", "updated_at", "amount", "title") = Field(
        "", description="A column, descending with a leading `-`; empty is -created_at")


class DealIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    amount: Amount | None = Field(None, description="UZS as a decimal string or number with at most two "
                                                    "decimals (422 `too_many_decimals`); kept as tiyin")
    client_id: str = Id
    stage_id: str = Id
    responsible_id: str = Id
    fields: dict[str, Any] = Field(default_factory=dict)


class DealPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    amount: Amount | None = Field(None, description="As in DealIn; null or \"\" is no amount")
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
    ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=10000)
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
    cursor: Cursor = ""


class TaskIn(Schema):
    type: str = Field(min_length=1, max_length=60)
    comment: str = Field("", max_length=5000)
    due_at: DateTime
    responsible_id: str = Id
    deal_id: str = Id
    client_id: str = Id


class TaskPatch(Schema):
    type: str | None = Field(None, min_length=1, max_length=60)
    comment: str | None = Field(None, max_length=5000)
    due_at: DateTime | None = None
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
    overdue: bool = Field(description="Not done and its due time has passed")


class TaskList(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = None


class TaskQuery(Schema):
    deal_id: str = Id
    client_id: str = Id
    responsible_id: str = Id
    done: bool | None = None
    due: Literal["", "overdue", "today", "upcoming"] = Field(
        "", description="overdue: not done and due before now; today: due today in the company's time zone; "
                        "upcoming: due after today; empty: any")
    limit: int = Field(50, ge=1, le=200)
    cursor: Cursor = ""


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
    funnel_id: str = Field("", max_length=64, description="Empty: the company's first deal funnel")
    per_stage: int = Field(20, ge=1, le=100)


class BoardColumn(BaseModel):
    stage: StageBrief | dict
    count: int
    sum: str
    sum_tiyin: int
    deals: list[DealOut]
    next_cursor: str | None = Field(None, description="The column's next deals: `GET /api/v1/deals?stage_id=<the "
                                                      "stage>&cursor=<this>` (newest first, as here); null when "
                                                      "these are all")


class Board(BaseModel):
    funnel_id: str
    columns: list[BoardColumn]


# ---- notes ---------------------------------------------------------------------------------------
NOTE_MAX = 4000
# 1 to 4,000 characters once trimmed (as records trims: Python's whitespace, spelt out in _BLANK), no NUL.
# A maxLength would refuse a text of 4,000 characters with a blank around it, which records accepts.
NOTE_PATTERN = (f"^[{_BLANK}]*[^\\u0000{_BLANK}]([^\\u0000]{{0,{NOTE_MAX - 2}}}[^\\u0000{_BLANK}])?"
                f"[{_BLANK}]*$")


def _check_note_text(value: str) -> str:
    text = value.strip()
    if not text:
        raise PydanticCustomError("required", "Required.")
    if len(text) > NOTE_MAX:
        raise PydanticCustomError("string_too_long", "Too long.", {"max_length": NOTE_MAX})
    return value


NoteText = Annotated[str, AfterValidator(_check_note_text), WithJsonSchema({
    "type": "string", "pattern": NOTE_PATTERN,
    "description": f"1 to {NOTE_MAX:,} characters once trimmed (422 `required`, `too_long`)"})]


class NoteIn(Schema):
    text: NoteText


class NotePatch(Schema):
    text: NoteText


class NoteOut(BaseModel):
    id: str
    text: str
    author_id: str
    deal_id: str | None
    client_id: str | None
    created_at: str
    updated_at: str


class NoteList(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None = None


class NoteQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: Cursor = ""
