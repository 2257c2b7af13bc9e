from crm.common.v1 import events_pb2 as _events_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProcessRunFinished(_message.Message):
    __slots__ = ("metadata", "process_id", "trigger_event_id", "outcome", "task_id", "error")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    process_id: str
    trigger_event_id: str
    outcome: str
    task_id: str
    error: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., process_id: _Optional[str] = ..., trigger_event_id: _Optional[str] = ..., outcome: _Optional[str] = ..., task_id: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...
