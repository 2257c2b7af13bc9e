import datetime

from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
TOPIC_FIELD_NUMBER: _ClassVar[int]
topic: _descriptor.FieldDescriptor
AGGREGATE_FIELD_NUMBER: _ClassVar[int]
aggregate: _descriptor.FieldDescriptor

class EventMetadata(_message.Message):
    __slots__ = ("event_id", "event_type", "occurred_at", "company_id", "actor_id", "aggregate_id", "request_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPANY_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    event_type: str
    occurred_at: _timestamp_pb2.Timestamp
    company_id: str
    actor_id: str
    aggregate_id: str
    request_id: str
    def __init__(self, event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., company_id: _Optional[str] = ..., actor_id: _Optional[str] = ..., aggregate_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
