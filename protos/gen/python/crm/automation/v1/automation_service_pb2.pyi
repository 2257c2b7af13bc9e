from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Trigger(_message.Message):
    __slots__ = ("event", "stage_id")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    event: str
    stage_id: str
    def __init__(self, event: _Optional[str] = ..., stage_id: _Optional[str] = ...) -> None: ...

class Conditions(_message.Message):
    __slots__ = ("funnel_id", "stage_group")
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_GROUP_FIELD_NUMBER: _ClassVar[int]
    funnel_id: str
    stage_group: str
    def __init__(self, funnel_id: _Optional[str] = ..., stage_group: _Optional[str] = ...) -> None: ...

class Process(_message.Message):
    __slots__ = ("id", "name", "type", "trigger", "conditions", "due", "assignee", "task_type", "comment", "enabled", "author_id", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    type: str
    trigger: Trigger
    conditions: Conditions
    due: str
    assignee: str
    task_type: str
    comment: str
    enabled: bool
    author_id: str
    created_at: str
    updated_at: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., trigger: _Optional[_Union[Trigger, _Mapping]] = ..., conditions: _Optional[_Union[Conditions, _Mapping]] = ..., due: _Optional[str] = ..., assignee: _Optional[str] = ..., task_type: _Optional[str] = ..., comment: _Optional[str] = ..., enabled: _Optional[bool] = ..., author_id: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ...) -> None: ...

class ProcessRun(_message.Message):
    __slots__ = ("id", "process_id", "event_id", "event", "record_type", "record_id", "outcome", "task_id", "error", "attempts", "created_at", "finished_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    RECORD_TYPE_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    process_id: str
    event_id: str
    event: str
    record_type: str
    record_id: str
    outcome: str
    task_id: str
    error: str
    attempts: int
    created_at: str
    finished_at: str
    def __init__(self, id: _Optional[str] = ..., process_id: _Optional[str] = ..., event_id: _Optional[str] = ..., event: _Optional[str] = ..., record_type: _Optional[str] = ..., record_id: _Optional[str] = ..., outcome: _Optional[str] = ..., task_id: _Optional[str] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ..., created_at: _Optional[str] = ..., finished_at: _Optional[str] = ...) -> None: ...

class ProcessInput(_message.Message):
    __slots__ = ("name", "type", "trigger", "conditions", "due", "assignee", "task_type", "comment", "enabled")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    trigger: Trigger
    conditions: Conditions
    due: str
    assignee: str
    task_type: str
    comment: str
    enabled: bool
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., trigger: _Optional[_Union[Trigger, _Mapping]] = ..., conditions: _Optional[_Union[Conditions, _Mapping]] = ..., due: _Optional[str] = ..., assignee: _Optional[str] = ..., task_type: _Optional[str] = ..., comment: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class ListProcessesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListProcessesResponse(_message.Message):
    __slots__ = ("processes",)
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    processes: _containers.RepeatedCompositeFieldContainer[Process]
    def __init__(self, processes: _Optional[_Iterable[_Union[Process, _Mapping]]] = ...) -> None: ...

class GetProcessRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetProcessResponse(_message.Message):
    __slots__ = ("process",)
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ...) -> None: ...

class CreateProcessRequest(_message.Message):
    __slots__ = ("process",)
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    process: ProcessInput
    def __init__(self, process: _Optional[_Union[ProcessInput, _Mapping]] = ...) -> None: ...

class CreateProcessResponse(_message.Message):
    __slots__ = ("process",)
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ...) -> None: ...

class UpdateProcessRequest(_message.Message):
    __slots__ = ("id", "process")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    id: str
    process: ProcessInput
    def __init__(self, id: _Optional[str] = ..., process: _Optional[_Union[ProcessInput, _Mapping]] = ...) -> None: ...

class UpdateProcessResponse(_message.Message):
    __slots__ = ("process",)
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    process: Process
    def __init__(self, process: _Optional[_Union[Process, _Mapping]] = ...) -> None: ...

class DeleteProcessRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteProcessResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListProcessRunsRequest(_message.Message):
    __slots__ = ("process_id", "limit", "cursor")
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    process_id: str
    limit: int
    cursor: str
    def __init__(self, process_id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListProcessRunsResponse(_message.Message):
    __slots__ = ("runs", "next_cursor")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[ProcessRun]
    next_cursor: str
    def __init__(self, runs: _Optional[_Iterable[_Union[ProcessRun, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...
