from crm.common.v1 import events_pb2 as _events_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentCompleted(_message.Message):
    __slots__ = ("metadata", "order_id", "seats", "months", "amount_tiyin", "click_trans_id", "paid_until")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    CLICK_TRANS_ID_FIELD_NUMBER: _ClassVar[int]
    PAID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    order_id: str
    seats: int
    months: int
    amount_tiyin: int
    click_trans_id: str
    paid_until: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., order_id: _Optional[str] = ..., seats: _Optional[int] = ..., months: _Optional[int] = ..., amount_tiyin: _Optional[int] = ..., click_trans_id: _Optional[str] = ..., paid_until: _Optional[str] = ...) -> None: ...

class SubscriptionChanged(_message.Message):
    __slots__ = ("metadata", "seats", "active_users", "paid_until", "reason")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_USERS_FIELD_NUMBER: _ClassVar[int]
    PAID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    metadata: _events_pb2.EventMetadata
    seats: int
    active_users: int
    paid_until: str
    reason: str
    def __init__(self, metadata: _Optional[_Union[_events_pb2.EventMetadata, _Mapping]] = ..., seats: _Optional[int] = ..., active_users: _Optional[int] = ..., paid_until: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
