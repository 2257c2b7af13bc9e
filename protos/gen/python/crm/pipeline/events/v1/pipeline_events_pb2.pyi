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

class FunnelChanged(_message.Message):
    __slots__ = ("metadata", "funnel", "removed")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    funnel: _pipeline_service_pb2.Funnel
    removed: _containers.RepeatedCompositeFieldContainer[_pipeline_service_pb2.StageRemoval]
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., funnel: _Optional[_Union[_pipeline_service_pb2.Funnel, _Mapping]] = ..., removed: _Optional[_Iterable[_Union[_pipeline_service_pb2.StageRemoval, _Mapping]]] = ...) -> None: ...

class StageRulesChanged(_message.Message):
    __slots__ = ("metadata", "funnel_id", "rules")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    funnel_id: str
    rules: _pipeline_service_pb2.StageRules
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., funnel_id: _Optional[str] = ..., rules: _Optional[_Union[_pipeline_service_pb2.StageRules, _Mapping]] = ...) -> None: ...

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
