from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Country(_message.Message):
    __slots__ = ("code", "dialing_code", "lengths", "example")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DIALING_CODE_FIELD_NUMBER: _ClassVar[int]
    LENGTHS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    code: str
    dialing_code: int
    lengths: _containers.RepeatedScalarFieldContainer[int]
    example: str
    def __init__(self, code: _Optional[str] = ..., dialing_code: _Optional[int] = ..., lengths: _Optional[_Iterable[int]] = ..., example: _Optional[str] = ...) -> None: ...

class PhoneInput(_message.Message):
    __slots__ = ("country", "number")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    country: str
    number: str
    def __init__(self, country: _Optional[str] = ..., number: _Optional[str] = ...) -> None: ...

class Phone(_message.Message):
    __slots__ = ("country", "number", "e164")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    E164_FIELD_NUMBER: _ClassVar[int]
    country: str
    number: str
    e164: str
    def __init__(self, country: _Optional[str] = ..., number: _Optional[str] = ..., e164: _Optional[str] = ...) -> None: ...

class Client(_message.Message):
    __slots__ = ("id", "name", "phone", "email", "funnel_id", "stage_id", "responsible_id", "fields_json", "deleted", "deleted_at", "deleted_by", "created_at", "updated_at", "created_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    DELETED_AT_FIELD_NUMBER: _ClassVar[int]
    DELETED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    phone: Phone
    email: str
    funnel_id: str
    stage_id: str
    responsible_id: str
    fields_json: str
    deleted: bool
    deleted_at: str
    deleted_by: str
    created_at: str
    updated_at: str
    created_by: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[_Union[Phone, _Mapping]] = ..., email: _Optional[str] = ..., funnel_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., responsible_id: _Optional[str] = ..., fields_json: _Optional[str] = ..., deleted: _Optional[bool] = ..., deleted_at: _Optional[str] = ..., deleted_by: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., created_by: _Optional[str] = ...) -> None: ...

class Deal(_message.Message):
    __slots__ = ("id", "title", "amount_tiyin", "amount", "client_id", "funnel_id", "stage_id", "responsible_id", "fields_json", "deleted", "deleted_at", "deleted_by", "created_at", "updated_at", "created_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    DELETED_AT_FIELD_NUMBER: _ClassVar[int]
    DELETED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    amount_tiyin: int
    amount: str
    client_id: str
    funnel_id: str
    stage_id: str
    responsible_id: str
    fields_json: str
    deleted: bool
    deleted_at: str
    deleted_by: str
    created_at: str
    updated_at: str
    created_by: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., amount_tiyin: _Optional[int] = ..., amount: _Optional[str] = ..., client_id: _Optional[str] = ..., funnel_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., responsible_id: _Optional[str] = ..., fields_json: _Optional[str] = ..., deleted: _Optional[bool] = ..., deleted_at: _Optional[str] = ..., deleted_by: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., created_by: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "type", "comment", "due_at", "responsible_id", "deal_id", "client_id", "done", "done_at", "created_at", "created_by", "process_id", "overdue")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    DONE_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    comment: str
    due_at: str
    responsible_id: str
    deal_id: str
    client_id: str
    done: bool
    done_at: str
    created_at: str
    created_by: str
    process_id: str
    overdue: bool
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., comment: _Optional[str] = ..., due_at: _Optional[str] = ..., responsible_id: _Optional[str] = ..., deal_id: _Optional[str] = ..., client_id: _Optional[str] = ..., done: _Optional[bool] = ..., done_at: _Optional[str] = ..., created_at: _Optional[str] = ..., created_by: _Optional[str] = ..., process_id: _Optional[str] = ..., overdue: _Optional[bool] = ...) -> None: ...

class TaskType(_message.Message):
    __slots__ = ("key", "name", "builtin")
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    builtin: bool
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., builtin: _Optional[bool] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("id", "at", "actor_id", "source", "action", "changes_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CHANGES_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    at: str
    actor_id: str
    source: str
    action: str
    changes_json: str
    def __init__(self, id: _Optional[str] = ..., at: _Optional[str] = ..., actor_id: _Optional[str] = ..., source: _Optional[str] = ..., action: _Optional[str] = ..., changes_json: _Optional[str] = ...) -> None: ...

class ListCountriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCountriesResponse(_message.Message):
    __slots__ = ("countries",)
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    countries: _containers.RepeatedCompositeFieldContainer[Country]
    def __init__(self, countries: _Optional[_Iterable[_Union[Country, _Mapping]]] = ...) -> None: ...

class CreateClientRequest(_message.Message):
    __slots__ = ("name", "phone", "email", "responsible_id", "stage_id", "fields_json", "idempotency_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    phone: PhoneInput
    email: str
    responsible_id: str
    stage_id: str
    fields_json: str
    idempotency_key: str
    def __init__(self, name: _Optional[str] = ..., phone: _Optional[_Union[PhoneInput, _Mapping]] = ..., email: _Optional[str] = ..., responsible_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., fields_json: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CreateClientResponse(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: Client
    def __init__(self, client: _Optional[_Union[Client, _Mapping]] = ...) -> None: ...

class GetClientRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetClientResponse(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: Client
    def __init__(self, client: _Optional[_Union[Client, _Mapping]] = ...) -> None: ...

class UpdateClientRequest(_message.Message):
    __slots__ = ("id", "name", "phone", "email", "responsible_id", "stage_id", "fields_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    phone: PhoneInput
    email: str
    responsible_id: str
    stage_id: str
    fields_json: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[_Union[PhoneInput, _Mapping]] = ..., email: _Optional[str] = ..., responsible_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., fields_json: _Optional[str] = ...) -> None: ...

class UpdateClientResponse(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: Client
    def __init__(self, client: _Optional[_Union[Client, _Mapping]] = ...) -> None: ...

class DeleteClientRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteClientResponse(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: Client
    def __init__(self, client: _Optional[_Union[Client, _Mapping]] = ...) -> None: ...

class RestoreClientRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RestoreClientResponse(_message.Message):
    __slots__ = ("client",)
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    client: Client
    def __init__(self, client: _Optional[_Union[Client, _Mapping]] = ...) -> None: ...

class ListClientsRequest(_message.Message):
    __slots__ = ("funnel_id", "stage_id", "responsible_id", "q", "deleted", "sort", "limit", "cursor")
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    funnel_id: str
    stage_id: str
    responsible_id: str
    q: str
    deleted: bool
    sort: str
    limit: int
    cursor: str
    def __init__(self, funnel_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., responsible_id: _Optional[str] = ..., q: _Optional[str] = ..., deleted: _Optional[bool] = ..., sort: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListClientsResponse(_message.Message):
    __slots__ = ("clients", "next_cursor")
    CLIENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    clients: _containers.RepeatedCompositeFieldContainer[Client]
    next_cursor: str
    def __init__(self, clients: _Optional[_Iterable[_Union[Client, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class SetClientsResponsibleRequest(_message.Message):
    __slots__ = ("ids", "responsible_id", "cascade")
    IDS_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    CASCADE_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    responsible_id: str
    cascade: bool
    def __init__(self, ids: _Optional[_Iterable[str]] = ..., responsible_id: _Optional[str] = ..., cascade: _Optional[bool] = ...) -> None: ...

class SetClientsResponsibleResponse(_message.Message):
    __slots__ = ("clients", "deals", "tasks")
    CLIENTS_FIELD_NUMBER: _ClassVar[int]
    DEALS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    clients: int
    deals: int
    tasks: int
    def __init__(self, clients: _Optional[int] = ..., deals: _Optional[int] = ..., tasks: _Optional[int] = ...) -> None: ...

class GetClientHistoryRequest(_message.Message):
    __slots__ = ("id", "limit", "cursor")
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    id: str
    limit: int
    cursor: str
    def __init__(self, id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetClientHistoryResponse(_message.Message):
    __slots__ = ("entries", "next_cursor")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    next_cursor: str
    def __init__(self, entries: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class CreateDealRequest(_message.Message):
    __slots__ = ("title", "amount", "client_id", "stage_id", "responsible_id", "fields_json", "idempotency_key")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    title: str
    amount: str
    client_id: str
    stage_id: str
    responsible_id: str
    fields_json: str
    idempotency_key: str
    def __init__(self, title: _Optional[str] = ..., amount: _Optional[str] = ..., client_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., responsible_id: _Optional[str] = ..., fields_json: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CreateDealResponse(_message.Message):
    __slots__ = ("deal",)
    DEAL_FIELD_NUMBER: _ClassVar[int]
    deal: Deal
    def __init__(self, deal: _Optional[_Union[Deal, _Mapping]] = ...) -> None: ...

class GetDealRequest(_message.Message):
    __slots__ = ("id", "history_limit")
    ID_FIELD_NUMBER: _ClassVar[int]
    HISTORY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    history_limit: int
    def __init__(self, id: _Optional[str] = ..., history_limit: _Optional[int] = ...) -> None: ...

class GetDealResponse(_message.Message):
    __slots__ = ("deal", "client", "open_tasks", "history", "stage", "responsible")
    DEAL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    OPEN_TASKS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_FIELD_NUMBER: _ClassVar[int]
    deal: Deal
    client: Client
    open_tasks: _containers.RepeatedCompositeFieldContainer[Task]
    history: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    stage: DealStage
    responsible: UserRef
    def __init__(self, deal: _Optional[_Union[Deal, _Mapping]] = ..., client: _Optional[_Union[Client, _Mapping]] = ..., open_tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., history: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ..., stage: _Optional[_Union[DealStage, _Mapping]] = ..., responsible: _Optional[_Union[UserRef, _Mapping]] = ...) -> None: ...

class DealStage(_message.Message):
    __slots__ = ("id", "name", "color", "group_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    color: str
    group_key: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., color: _Optional[str] = ..., group_key: _Optional[str] = ...) -> None: ...

class UserRef(_message.Message):
    __slots__ = ("id", "name", "active")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    active: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class UpdateDealRequest(_message.Message):
    __slots__ = ("id", "title", "amount", "client_id", "stage_id", "responsible_id", "fields_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    amount: str
    client_id: str
    stage_id: str
    responsible_id: str
    fields_json: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., amount: _Optional[str] = ..., client_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., responsible_id: _Optional[str] = ..., fields_json: _Optional[str] = ...) -> None: ...

class UpdateDealResponse(_message.Message):
    __slots__ = ("deal",)
    DEAL_FIELD_NUMBER: _ClassVar[int]
    deal: Deal
    def __init__(self, deal: _Optional[_Union[Deal, _Mapping]] = ...) -> None: ...

class DeleteDealRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteDealResponse(_message.Message):
    __slots__ = ("deal",)
    DEAL_FIELD_NUMBER: _ClassVar[int]
    deal: Deal
    def __init__(self, deal: _Optional[_Union[Deal, _Mapping]] = ...) -> None: ...

class RestoreDealRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RestoreDealResponse(_message.Message):
    __slots__ = ("deal",)
    DEAL_FIELD_NUMBER: _ClassVar[int]
    deal: Deal
    def __init__(self, deal: _Optional[_Union[Deal, _Mapping]] = ...) -> None: ...

class ListDealsRequest(_message.Message):
    __slots__ = ("funnel_id", "stage_id", "responsible_id", "client_id", "q", "deleted", "sort", "limit", "cursor")
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    funnel_id: str
    stage_id: str
    responsible_id: str
    client_id: str
    q: str
    deleted: bool
    sort: str
    limit: int
    cursor: str
    def __init__(self, funnel_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., responsible_id: _Optional[str] = ..., client_id: _Optional[str] = ..., q: _Optional[str] = ..., deleted: _Optional[bool] = ..., sort: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListDealsResponse(_message.Message):
    __slots__ = ("deals", "next_cursor")
    DEALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    deals: _containers.RepeatedCompositeFieldContainer[Deal]
    next_cursor: str
    def __init__(self, deals: _Optional[_Iterable[_Union[Deal, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class SetDealsResponsibleRequest(_message.Message):
    __slots__ = ("ids", "responsible_id", "cascade")
    IDS_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    CASCADE_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    responsible_id: str
    cascade: bool
    def __init__(self, ids: _Optional[_Iterable[str]] = ..., responsible_id: _Optional[str] = ..., cascade: _Optional[bool] = ...) -> None: ...

class SetDealsResponsibleResponse(_message.Message):
    __slots__ = ("deals", "clients")
    DEALS_FIELD_NUMBER: _ClassVar[int]
    CLIENTS_FIELD_NUMBER: _ClassVar[int]
    deals: int
    clients: int
    def __init__(self, deals: _Optional[int] = ..., clients: _Optional[int] = ...) -> None: ...

class GetDealHistoryRequest(_message.Message):
    __slots__ = ("id", "limit", "cursor")
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    id: str
    limit: int
    cursor: str
    def __init__(self, id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetDealHistoryResponse(_message.Message):
    __slots__ = ("entries", "next_cursor")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    next_cursor: str
    def __init__(self, entries: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetBoardRequest(_message.Message):
    __slots__ = ("funnel_id", "per_stage")
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    PER_STAGE_FIELD_NUMBER: _ClassVar[int]
    funnel_id: str
    per_stage: int
    def __init__(self, funnel_id: _Optional[str] = ..., per_stage: _Optional[int] = ...) -> None: ...

class BoardColumn(_message.Message):
    __slots__ = ("stage_id", "count", "amount_tiyin", "deals", "stage")
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    DEALS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    stage_id: str
    count: int
    amount_tiyin: int
    deals: _containers.RepeatedCompositeFieldContainer[Deal]
    stage: DealStage
    def __init__(self, stage_id: _Optional[str] = ..., count: _Optional[int] = ..., amount_tiyin: _Optional[int] = ..., deals: _Optional[_Iterable[_Union[Deal, _Mapping]]] = ..., stage: _Optional[_Union[DealStage, _Mapping]] = ...) -> None: ...

class GetBoardResponse(_message.Message):
    __slots__ = ("columns",)
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedCompositeFieldContainer[BoardColumn]
    def __init__(self, columns: _Optional[_Iterable[_Union[BoardColumn, _Mapping]]] = ...) -> None: ...

class CreateTaskRequest(_message.Message):
    __slots__ = ("type", "comment", "due_at", "responsible_id", "deal_id", "client_id", "idempotency_key", "process_id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    type: str
    comment: str
    due_at: str
    responsible_id: str
    deal_id: str
    client_id: str
    idempotency_key: str
    process_id: str
    def __init__(self, type: _Optional[str] = ..., comment: _Optional[str] = ..., due_at: _Optional[str] = ..., responsible_id: _Optional[str] = ..., deal_id: _Optional[str] = ..., client_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., process_id: _Optional[str] = ...) -> None: ...

class CreateTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class CreateTasksRequest(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[CreateTaskRequest]
    def __init__(self, tasks: _Optional[_Iterable[_Union[CreateTaskRequest, _Mapping]]] = ...) -> None: ...

class CreateTasksResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CreateTaskResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CreateTaskResult, _Mapping]]] = ...) -> None: ...

class CreateTaskResult(_message.Message):
    __slots__ = ("task_id", "error_json")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_JSON_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    error_json: str
    def __init__(self, task_id: _Optional[str] = ..., error_json: _Optional[str] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class UpdateTaskRequest(_message.Message):
    __slots__ = ("id", "type", "comment", "due_at", "responsible_id", "done")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    comment: str
    due_at: str
    responsible_id: str
    done: bool
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., comment: _Optional[str] = ..., due_at: _Optional[str] = ..., responsible_id: _Optional[str] = ..., done: _Optional[bool] = ...) -> None: ...

class UpdateTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("deal_id", "client_id", "responsible_id", "done", "limit", "cursor", "due")
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    deal_id: str
    client_id: str
    responsible_id: str
    done: bool
    limit: int
    cursor: str
    due: str
    def __init__(self, deal_id: _Optional[str] = ..., client_id: _Optional[str] = ..., responsible_id: _Optional[str] = ..., done: _Optional[bool] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ..., due: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "next_cursor")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    next_cursor: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ListTaskTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTaskTypesResponse(_message.Message):
    __slots__ = ("types",)
    TYPES_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedCompositeFieldContainer[TaskType]
    def __init__(self, types: _Optional[_Iterable[_Union[TaskType, _Mapping]]] = ...) -> None: ...

class CreateTaskTypeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateTaskTypeResponse(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: TaskType
    def __init__(self, type: _Optional[_Union[TaskType, _Mapping]] = ...) -> None: ...

class DeleteTaskRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class Note(_message.Message):
    __slots__ = ("id", "entity", "record_id", "text", "author_id", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    entity: str
    record_id: str
    text: str
    author_id: str
    created_at: str
    updated_at: str
    def __init__(self, id: _Optional[str] = ..., entity: _Optional[str] = ..., record_id: _Optional[str] = ..., text: _Optional[str] = ..., author_id: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ...) -> None: ...

class CreateNoteRequest(_message.Message):
    __slots__ = ("entity", "record_id", "text")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    entity: str
    record_id: str
    text: str
    def __init__(self, entity: _Optional[str] = ..., record_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class CreateNoteResponse(_message.Message):
    __slots__ = ("note",)
    NOTE_FIELD_NUMBER: _ClassVar[int]
    note: Note
    def __init__(self, note: _Optional[_Union[Note, _Mapping]] = ...) -> None: ...

class ListNotesRequest(_message.Message):
    __slots__ = ("entity", "record_id", "limit", "cursor")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    entity: str
    record_id: str
    limit: int
    cursor: str
    def __init__(self, entity: _Optional[str] = ..., record_id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListNotesResponse(_message.Message):
    __slots__ = ("notes", "next_cursor")
    NOTES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    notes: _containers.RepeatedCompositeFieldContainer[Note]
    next_cursor: str
    def __init__(self, notes: _Optional[_Iterable[_Union[Note, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class UpdateNoteRequest(_message.Message):
    __slots__ = ("id", "text")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class UpdateNoteResponse(_message.Message):
    __slots__ = ("note",)
    NOTE_FIELD_NUMBER: _ClassVar[int]
    note: Note
    def __init__(self, note: _Optional[_Union[Note, _Mapping]] = ...) -> None: ...

class DeleteNoteRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteNoteResponse(_message.Message):
    __slots__ = ("note",)
    NOTE_FIELD_NUMBER: _ClassVar[int]
    note: Note
    def __init__(self, note: _Optional[_Union[Note, _Mapping]] = ...) -> None: ...

class ReportPeriod(_message.Message):
    __slots__ = ("funnel_id", "from_date", "to_date")
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    funnel_id: str
    from_date: str
    to_date: str
    def __init__(self, funnel_id: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ...) -> None: ...

class GetFunnelReportRequest(_message.Message):
    __slots__ = ("period", "responsible_id")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    period: ReportPeriod
    responsible_id: str
    def __init__(self, period: _Optional[_Union[ReportPeriod, _Mapping]] = ..., responsible_id: _Optional[str] = ...) -> None: ...

class StageReport(_message.Message):
    __slots__ = ("stage", "entered", "still_here", "moved_on", "won_later")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ENTERED_FIELD_NUMBER: _ClassVar[int]
    STILL_HERE_FIELD_NUMBER: _ClassVar[int]
    MOVED_ON_FIELD_NUMBER: _ClassVar[int]
    WON_LATER_FIELD_NUMBER: _ClassVar[int]
    stage: DealStage
    entered: int
    still_here: int
    moved_on: int
    won_later: int
    def __init__(self, stage: _Optional[_Union[DealStage, _Mapping]] = ..., entered: _Optional[int] = ..., still_here: _Optional[int] = ..., moved_on: _Optional[int] = ..., won_later: _Optional[int] = ...) -> None: ...

class WeekReport(_message.Message):
    __slots__ = ("week_start", "won", "lost", "won_amount_tiyin")
    WEEK_START_FIELD_NUMBER: _ClassVar[int]
    WON_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    WON_AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    week_start: str
    won: int
    lost: int
    won_amount_tiyin: int
    def __init__(self, week_start: _Optional[str] = ..., won: _Optional[int] = ..., lost: _Optional[int] = ..., won_amount_tiyin: _Optional[int] = ...) -> None: ...

class GetFunnelReportResponse(_message.Message):
    __slots__ = ("funnel_id", "from_date", "to_date", "time_zone", "responsible_id", "stages", "created", "won", "lost", "won_amount_tiyin", "average_days_to_win", "weeks")
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    WON_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    WON_AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_DAYS_TO_WIN_FIELD_NUMBER: _ClassVar[int]
    WEEKS_FIELD_NUMBER: _ClassVar[int]
    funnel_id: str
    from_date: str
    to_date: str
    time_zone: str
    responsible_id: str
    stages: _containers.RepeatedCompositeFieldContainer[StageReport]
    created: int
    won: int
    lost: int
    won_amount_tiyin: int
    average_days_to_win: float
    weeks: _containers.RepeatedCompositeFieldContainer[WeekReport]
    def __init__(self, funnel_id: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., time_zone: _Optional[str] = ..., responsible_id: _Optional[str] = ..., stages: _Optional[_Iterable[_Union[StageReport, _Mapping]]] = ..., created: _Optional[int] = ..., won: _Optional[int] = ..., lost: _Optional[int] = ..., won_amount_tiyin: _Optional[int] = ..., average_days_to_win: _Optional[float] = ..., weeks: _Optional[_Iterable[_Union[WeekReport, _Mapping]]] = ...) -> None: ...

class GetTeamReportRequest(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: ReportPeriod
    def __init__(self, period: _Optional[_Union[ReportPeriod, _Mapping]] = ...) -> None: ...

class ResponsibleReport(_message.Message):
    __slots__ = ("user", "open_deals", "open_amount_tiyin", "won", "won_amount_tiyin", "lost", "overdue_tasks")
    USER_FIELD_NUMBER: _ClassVar[int]
    OPEN_DEALS_FIELD_NUMBER: _ClassVar[int]
    OPEN_AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    WON_FIELD_NUMBER: _ClassVar[int]
    WON_AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_TASKS_FIELD_NUMBER: _ClassVar[int]
    user: UserRef
    open_deals: int
    open_amount_tiyin: int
    won: int
    won_amount_tiyin: int
    lost: int
    overdue_tasks: int
    def __init__(self, user: _Optional[_Union[UserRef, _Mapping]] = ..., open_deals: _Optional[int] = ..., open_amount_tiyin: _Optional[int] = ..., won: _Optional[int] = ..., won_amount_tiyin: _Optional[int] = ..., lost: _Optional[int] = ..., overdue_tasks: _Optional[int] = ...) -> None: ...

class GetTeamReportResponse(_message.Message):
    __slots__ = ("funnel_id", "from_date", "to_date", "time_zone", "rows")
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    funnel_id: str
    from_date: str
    to_date: str
    time_zone: str
    rows: _containers.RepeatedCompositeFieldContainer[ResponsibleReport]
    def __init__(self, funnel_id: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., time_zone: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[ResponsibleReport, _Mapping]]] = ...) -> None: ...
