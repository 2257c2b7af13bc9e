from crm.common.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompanyCreated(_message.Message):
    __slots__ = ("metadata", "name", "crm_id", "time_zone", "admin_user_id", "language")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CRM_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    name: str
    crm_id: str
    time_zone: str
    admin_user_id: str
    language: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., name: _Optional[str] = ..., crm_id: _Optional[str] = ..., time_zone: _Optional[str] = ..., admin_user_id: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class UserCreated(_message.Message):
    __slots__ = ("metadata", "user_id", "email", "role_id", "group_id", "first_name", "last_name")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    user_id: str
    email: str
    role_id: str
    group_id: str
    first_name: str
    last_name: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., user_id: _Optional[str] = ..., email: _Optional[str] = ..., role_id: _Optional[str] = ..., group_id: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ...) -> None: ...

class UserUpdated(_message.Message):
    __slots__ = ("metadata", "user_id", "changed_fields")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    user_id: str
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., user_id: _Optional[str] = ..., changed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class UserDeactivated(_message.Message):
    __slots__ = ("metadata", "user_id")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    user_id: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., user_id: _Optional[str] = ...) -> None: ...

class UserActivated(_message.Message):
    __slots__ = ("metadata", "user_id")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    user_id: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., user_id: _Optional[str] = ...) -> None: ...

class RoleChanged(_message.Message):
    __slots__ = ("metadata", "role_id")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    role_id: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., role_id: _Optional[str] = ...) -> None: ...
