from crm.common.v1 import events_pb2 as _events_pb2
from crm.pipeline.v1 import pipeline_service_pb2 as _pipeline_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FunnelCreated(_message.Message):
    __slots__ = ("metadata", "funnel")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    funnel: _pipeline_service_pb2.Funnel
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., funnel: _Optional[_Union[_pipeline_service_pb2.Funnel, _Mapping]] = ...) -> None: ...

class RemovedStage(_message.Message):
    __slots__ = ("stage_id", "target_stage_id")
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    stage_id: str
    target_stage_id: str
    def __init__(self, stage_id: _Optional[str] = ..., target_stage_id: _Optional[str] = ...) -> None: ...

class FunnelChanged(_message.Message):
    __slots__ = ("metadata", "funnel_id", "entity", "removed_stages", "version", "funnel")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    REMOVED_STAGES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    funnel_id: str
    entity: str
    removed_stages: _containers.RepeatedCompositeFieldContainer[RemovedStage]
    version: int
    funnel: _pipeline_service_pb2.Funnel
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., funnel_id: _Optional[str] = ..., entity: _Optional[str] = ..., removed_stages: _Optional[_Iterable[_Union[RemovedStage, _Mapping]]] = ..., version: _Optional[int] = ..., funnel: _Optional[_Union[_pipeline_service_pb2.Funnel, _Mapping]] = ...) -> None: ...

class FieldsChanged(_message.Message):
    __slots__ = ("metadata", "entity")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    entity: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., entity: _Optional[str] = ...) -> None: ...

class FieldCreated(_message.Message):
    __slots__ = ("metadata", "field")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    field: _pipeline_service_pb2.FieldDefinition
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., field: _Optional[_Union[_pipeline_service_pb2.FieldDefinition, _Mapping]] = ...) -> None: ...

class FieldUpdated(_message.Message):
    __slots__ = ("metadata", "field")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    field: _pipeline_service_pb2.FieldDefinition
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., field: _Optional[_Union[_pipeline_service_pb2.FieldDefinition, _Mapping]] = ...) -> None: ...

class FieldDeleted(_message.Message):
    __slots__ = ("metadata", "field")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    field: _pipeline_service_pb2.FieldDefinition
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., field: _Optional[_Union[_pipeline_service_pb2.FieldDefinition, _Mapping]] = ...) -> None: ...
