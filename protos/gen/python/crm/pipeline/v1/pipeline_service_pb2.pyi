from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Stage(_message.Message):
    __slots__ = ("id", "name", "color", "position", "group_key", "funnel_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    color: str
    position: int
    group_key: str
    funnel_id: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., color: _Optional[str] = ..., position: _Optional[int] = ..., group_key: _Optional[str] = ..., funnel_id: _Optional[str] = ...) -> None: ...

class StageGroup(_message.Message):
    __slots__ = ("key", "stages")
    KEY_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    key: str
    stages: _containers.RepeatedCompositeFieldContainer[Stage]
    def __init__(self, key: _Optional[str] = ..., stages: _Optional[_Iterable[_Union[Stage, _Mapping]]] = ...) -> None: ...

class Funnel(_message.Message):
    __slots__ = ("id", "name", "entity", "groups", "version", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    entity: str
    groups: _containers.RepeatedCompositeFieldContainer[StageGroup]
    version: int
    updated_at: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., entity: _Optional[str] = ..., groups: _Optional[_Iterable[_Union[StageGroup, _Mapping]]] = ..., version: _Optional[int] = ..., updated_at: _Optional[str] = ...) -> None: ...

class StageInput(_message.Message):
    __slots__ = ("id", "name", "color")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    color: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., color: _Optional[str] = ...) -> None: ...

class StageGroupInput(_message.Message):
    __slots__ = ("key", "stages")
    KEY_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    key: str
    stages: _containers.RepeatedCompositeFieldContainer[StageInput]
    def __init__(self, key: _Optional[str] = ..., stages: _Optional[_Iterable[_Union[StageInput, _Mapping]]] = ...) -> None: ...

class StageRemoval(_message.Message):
    __slots__ = ("stage_id", "move_to_stage_id")
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MOVE_TO_STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    stage_id: str
    move_to_stage_id: str
    def __init__(self, stage_id: _Optional[str] = ..., move_to_stage_id: _Optional[str] = ...) -> None: ...

class StageRules(_message.Message):
    __slots__ = ("required", "one_time", "autodate", "autonumber", "stage_id")
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_FIELD_NUMBER: _ClassVar[int]
    AUTODATE_FIELD_NUMBER: _ClassVar[int]
    AUTONUMBER_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    required: _containers.RepeatedScalarFieldContainer[str]
    one_time: _containers.RepeatedScalarFieldContainer[str]
    autodate: _containers.RepeatedScalarFieldContainer[str]
    autonumber: _containers.RepeatedScalarFieldContainer[str]
    stage_id: str
    def __init__(self, required: _Optional[_Iterable[str]] = ..., one_time: _Optional[_Iterable[str]] = ..., autodate: _Optional[_Iterable[str]] = ..., autonumber: _Optional[_Iterable[str]] = ..., stage_id: _Optional[str] = ...) -> None: ...

class FieldDefinition(_message.Message):
    __slots__ = ("id", "entity", "key", "name", "type", "options", "position", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    entity: str
    key: str
    name: str
    type: str
    options: _containers.RepeatedScalarFieldContainer[str]
    position: int
    created_at: str
    def __init__(self, id: _Optional[str] = ..., entity: _Optional[str] = ..., key: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., options: _Optional[_Iterable[str]] = ..., position: _Optional[int] = ..., created_at: _Optional[str] = ...) -> None: ...

class ListFunnelsRequest(_message.Message):
    __slots__ = ("entity",)
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    entity: str
    def __init__(self, entity: _Optional[str] = ...) -> None: ...

class ListFunnelsResponse(_message.Message):
    __slots__ = ("funnels",)
    FUNNELS_FIELD_NUMBER: _ClassVar[int]
    funnels: _containers.RepeatedCompositeFieldContainer[Funnel]
    def __init__(self, funnels: _Optional[_Iterable[_Union[Funnel, _Mapping]]] = ...) -> None: ...

class GetFunnelRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetFunnelResponse(_message.Message):
    __slots__ = ("funnel",)
    FUNNEL_FIELD_NUMBER: _ClassVar[int]
    funnel: Funnel
    def __init__(self, funnel: _Optional[_Union[Funnel, _Mapping]] = ...) -> None: ...

class UpdateFunnelRequest(_message.Message):
    __slots__ = ("id", "version", "groups", "removed", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    groups: _containers.RepeatedCompositeFieldContainer[StageGroupInput]
    removed: _containers.RepeatedCompositeFieldContainer[StageRemoval]
    name: str
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., groups: _Optional[_Iterable[_Union[StageGroupInput, _Mapping]]] = ..., removed: _Optional[_Iterable[_Union[StageRemoval, _Mapping]]] = ..., name: _Optional[str] = ...) -> None: ...

class UpdateFunnelResponse(_message.Message):
    __slots__ = ("funnel",)
    FUNNEL_FIELD_NUMBER: _ClassVar[int]
    funnel: Funnel
    def __init__(self, funnel: _Optional[_Union[Funnel, _Mapping]] = ...) -> None: ...

class GetStageContextRequest(_message.Message):
    __slots__ = ("stage_id",)
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    stage_id: str
    def __init__(self, stage_id: _Optional[str] = ...) -> None: ...

class GetStageContextResponse(_message.Message):
    __slots__ = ("stage", "entity", "fields", "rules", "funnel_version")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    entity: str
    fields: _containers.RepeatedCompositeFieldContainer[FieldDefinition]
    rules: StageRules
    funnel_version: int
    def __init__(self, stage: _Optional[_Union[Stage, _Mapping]] = ..., entity: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FieldDefinition, _Mapping]]] = ..., rules: _Optional[_Union[StageRules, _Mapping]] = ..., funnel_version: _Optional[int] = ...) -> None: ...

class GetDefaultStageRequest(_message.Message):
    __slots__ = ("entity",)
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    entity: str
    def __init__(self, entity: _Optional[str] = ...) -> None: ...

class GetDefaultStageResponse(_message.Message):
    __slots__ = ("stage",)
    STAGE_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    def __init__(self, stage: _Optional[_Union[Stage, _Mapping]] = ...) -> None: ...

class GetStageRulesRequest(_message.Message):
    __slots__ = ("stage_id",)
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    stage_id: str
    def __init__(self, stage_id: _Optional[str] = ...) -> None: ...

class GetStageRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: StageRules
    def __init__(self, rules: _Optional[_Union[StageRules, _Mapping]] = ...) -> None: ...

class UpdateStageRulesRequest(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: StageRules
    def __init__(self, rules: _Optional[_Union[StageRules, _Mapping]] = ...) -> None: ...

class UpdateStageRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: StageRules
    def __init__(self, rules: _Optional[_Union[StageRules, _Mapping]] = ...) -> None: ...

class GetPaletteRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPaletteResponse(_message.Message):
    __slots__ = ("colors",)
    COLORS_FIELD_NUMBER: _ClassVar[int]
    colors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, colors: _Optional[_Iterable[str]] = ...) -> None: ...

class ListFieldsRequest(_message.Message):
    __slots__ = ("entity",)
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    entity: str
    def __init__(self, entity: _Optional[str] = ...) -> None: ...

class ListFieldsResponse(_message.Message):
    __slots__ = ("fields",)
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedCompositeFieldContainer[FieldDefinition]
    def __init__(self, fields: _Optional[_Iterable[_Union[FieldDefinition, _Mapping]]] = ...) -> None: ...

class CreateFieldRequest(_message.Message):
    __slots__ = ("entity", "key", "name", "type", "options")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    entity: str
    key: str
    name: str
    type: str
    options: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entity: _Optional[str] = ..., key: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., options: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateFieldResponse(_message.Message):
    __slots__ = ("field",)
    FIELD_FIELD_NUMBER: _ClassVar[int]
    field: FieldDefinition
    def __init__(self, field: _Optional[_Union[FieldDefinition, _Mapping]] = ...) -> None: ...

class UpdateFieldRequest(_message.Message):
    __slots__ = ("id", "name", "set_options", "options")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SET_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    set_options: bool
    options: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., set_options: _Optional[bool] = ..., options: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateFieldResponse(_message.Message):
    __slots__ = ("field",)
    FIELD_FIELD_NUMBER: _ClassVar[int]
    field: FieldDefinition
    def __init__(self, field: _Optional[_Union[FieldDefinition, _Mapping]] = ...) -> None: ...

class DeleteFieldRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteFieldResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
