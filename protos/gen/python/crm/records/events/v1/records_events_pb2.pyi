from crm.common.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChangeSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_SOURCE_UNSPECIFIED: _ClassVar[ChangeSource]
    CHANGE_SOURCE_USER: _ClassVar[ChangeSource]
    CHANGE_SOURCE_AUTOMATION: _ClassVar[ChangeSource]
    CHANGE_SOURCE_SYSTEM: _ClassVar[ChangeSource]
CHANGE_SOURCE_UNSPECIFIED: ChangeSource
CHANGE_SOURCE_USER: ChangeSource
CHANGE_SOURCE_AUTOMATION: ChangeSource
CHANGE_SOURCE_SYSTEM: ChangeSource

class DealSnapshot(_message.Message):
    __slots__ = ("id", "title", "amount_tiyin", "client_id", "funnel_id", "stage_id", "stage_group_key", "responsible_id", "created_by", "fields_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    amount_tiyin: int
    client_id: str
    funnel_id: str
    stage_id: str
    stage_group_key: str
    responsible_id: str
    created_by: str
    fields_json: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., amount_tiyin: _Optional[int] = ..., client_id: _Optional[str] = ..., funnel_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., stage_group_key: _Optional[str] = ..., responsible_id: _Optional[str] = ..., created_by: _Optional[str] = ..., fields_json: _Optional[str] = ...) -> None: ...

class ClientSnapshot(_message.Message):
    __slots__ = ("id", "name", "phone", "email", "funnel_id", "stage_id", "stage_group_key", "responsible_id", "created_by", "fields_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    phone: str
    email: str
    funnel_id: str
    stage_id: str
    stage_group_key: str
    responsible_id: str
    created_by: str
    fields_json: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., funnel_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., stage_group_key: _Optional[str] = ..., responsible_id: _Optional[str] = ..., created_by: _Optional[str] = ..., fields_json: _Optional[str] = ...) -> None: ...

class TaskSnapshot(_message.Message):
    __slots__ = ("id", "type", "comment", "due_at", "responsible_id", "deal_id", "client_id", "done", "process_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    comment: str
    due_at: str
    responsible_id: str
    deal_id: str
    client_id: str
    done: bool
    process_id: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., comment: _Optional[str] = ..., due_at: _Optional[str] = ..., responsible_id: _Optional[str] = ..., deal_id: _Optional[str] = ..., client_id: _Optional[str] = ..., done: _Optional[bool] = ..., process_id: _Optional[str] = ...) -> None: ...

class DealCreated(_message.Message):
    __slots__ = ("metadata", "deal", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DEAL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    deal: DealSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., deal: _Optional[_Union[DealSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class DealUpdated(_message.Message):
    __slots__ = ("metadata", "deal", "changed_fields", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DEAL_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    deal: DealSnapshot
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., deal: _Optional[_Union[DealSnapshot, _Mapping]] = ..., changed_fields: _Optional[_Iterable[str]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class DealStageChanged(_message.Message):
    __slots__ = ("metadata", "deal", "previous_stage_id", "previous_funnel_id", "previous_stage_group_key", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DEAL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STAGE_GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    deal: DealSnapshot
    previous_stage_id: str
    previous_funnel_id: str
    previous_stage_group_key: str
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., deal: _Optional[_Union[DealSnapshot, _Mapping]] = ..., previous_stage_id: _Optional[str] = ..., previous_funnel_id: _Optional[str] = ..., previous_stage_group_key: _Optional[str] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class DealResponsibleChanged(_message.Message):
    __slots__ = ("metadata", "deal", "previous_responsible_id", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DEAL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    deal: DealSnapshot
    previous_responsible_id: str
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., deal: _Optional[_Union[DealSnapshot, _Mapping]] = ..., previous_responsible_id: _Optional[str] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class DealDeleted(_message.Message):
    __slots__ = ("metadata", "deal", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DEAL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    deal: DealSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., deal: _Optional[_Union[DealSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class DealRestored(_message.Message):
    __slots__ = ("metadata", "deal", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DEAL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    deal: DealSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., deal: _Optional[_Union[DealSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class ClientCreated(_message.Message):
    __slots__ = ("metadata", "client", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    client: ClientSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., client: _Optional[_Union[ClientSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class ClientUpdated(_message.Message):
    __slots__ = ("metadata", "client", "changed_fields", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    client: ClientSnapshot
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., client: _Optional[_Union[ClientSnapshot, _Mapping]] = ..., changed_fields: _Optional[_Iterable[str]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class ClientStageChanged(_message.Message):
    __slots__ = ("metadata", "client", "previous_stage_id", "previous_funnel_id", "previous_stage_group_key", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STAGE_GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    client: ClientSnapshot
    previous_stage_id: str
    previous_funnel_id: str
    previous_stage_group_key: str
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., client: _Optional[_Union[ClientSnapshot, _Mapping]] = ..., previous_stage_id: _Optional[str] = ..., previous_funnel_id: _Optional[str] = ..., previous_stage_group_key: _Optional[str] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class ClientResponsibleChanged(_message.Message):
    __slots__ = ("metadata", "client", "previous_responsible_id", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RESPONSIBLE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    client: ClientSnapshot
    previous_responsible_id: str
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., client: _Optional[_Union[ClientSnapshot, _Mapping]] = ..., previous_responsible_id: _Optional[str] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class ClientDeleted(_message.Message):
    __slots__ = ("metadata", "client", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    client: ClientSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., client: _Optional[_Union[ClientSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class ClientRestored(_message.Message):
    __slots__ = ("metadata", "client", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    client: ClientSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., client: _Optional[_Union[ClientSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class TaskCreated(_message.Message):
    __slots__ = ("metadata", "task", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    task: TaskSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., task: _Optional[_Union[TaskSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class TaskDone(_message.Message):
    __slots__ = ("metadata", "task", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    task: TaskSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., task: _Optional[_Union[TaskSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class TaskDeleted(_message.Message):
    __slots__ = ("metadata", "task", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    task: TaskSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., task: _Optional[_Union[TaskSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...

class NoteSnapshot(_message.Message):
    __slots__ = ("id", "entity", "record_id", "text", "author_id", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    entity: str
    record_id: str
    text: str
    author_id: str
    created_at: str
    def __init__(self, id: _Optional[str] = ..., entity: _Optional[str] = ..., record_id: _Optional[str] = ..., text: _Optional[str] = ..., author_id: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

class NoteCreated(_message.Message):
    __slots__ = ("metadata", "note", "source")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    note: NoteSnapshot
    source: ChangeSource
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., note: _Optional[_Union[NoteSnapshot, _Mapping]] = ..., source: _Optional[_Union[ChangeSource, str]] = ...) -> None: ...
