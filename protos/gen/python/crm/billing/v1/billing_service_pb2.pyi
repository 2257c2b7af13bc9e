from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Subscription(_message.Message):
    __slots__ = ("plan", "price_per_seat_month_tiyin", "seats", "active_users", "paid_until", "expired", "paid_until_with_one_more_user", "seats_paid")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_SEAT_MONTH_TIYIN_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_USERS_FIELD_NUMBER: _ClassVar[int]
    PAID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    PAID_UNTIL_WITH_ONE_MORE_USER_FIELD_NUMBER: _ClassVar[int]
    SEATS_PAID_FIELD_NUMBER: _ClassVar[int]
    plan: str
    price_per_seat_month_tiyin: int
    seats: int
    active_users: int
    paid_until: str
    expired: bool
    paid_until_with_one_more_user: str
    seats_paid: int
    def __init__(self, plan: _Optional[str] = ..., price_per_seat_month_tiyin: _Optional[int] = ..., seats: _Optional[int] = ..., active_users: _Optional[int] = ..., paid_until: _Optional[str] = ..., expired: _Optional[bool] = ..., paid_until_with_one_more_user: _Optional[str] = ..., seats_paid: _Optional[int] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("id", "seats", "months", "amount_tiyin", "status", "payment_url", "created_at", "paid_at", "invoice_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_TIYIN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_URL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    seats: int
    months: int
    amount_tiyin: int
    status: str
    payment_url: str
    created_at: str
    paid_at: str
    invoice_id: int
    def __init__(self, id: _Optional[str] = ..., seats: _Optional[int] = ..., months: _Optional[int] = ..., amount_tiyin: _Optional[int] = ..., status: _Optional[str] = ..., payment_url: _Optional[str] = ..., created_at: _Optional[str] = ..., paid_at: _Optional[str] = ..., invoice_id: _Optional[int] = ...) -> None: ...

class ClickAnswer(_message.Message):
    __slots__ = ("click_trans_id", "merchant_trans_id", "merchant_prepare_id", "merchant_confirm_id", "error", "error_note")
    CLICK_TRANS_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_TRANS_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_PREPARE_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_CONFIRM_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_NOTE_FIELD_NUMBER: _ClassVar[int]
    click_trans_id: str
    merchant_trans_id: str
    merchant_prepare_id: int
    merchant_confirm_id: int
    error: int
    error_note: str
    def __init__(self, click_trans_id: _Optional[str] = ..., merchant_trans_id: _Optional[str] = ..., merchant_prepare_id: _Optional[int] = ..., merchant_confirm_id: _Optional[int] = ..., error: _Optional[int] = ..., error_note: _Optional[str] = ...) -> None: ...

class GetSubscriptionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class CheckAccessRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CheckAccessResponse(_message.Message):
    __slots__ = ("active", "paid_until")
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PAID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    active: bool
    paid_until: str
    def __init__(self, active: _Optional[bool] = ..., paid_until: _Optional[str] = ...) -> None: ...

class CreateOrderRequest(_message.Message):
    __slots__ = ("seats", "months")
    SEATS_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    seats: int
    months: int
    def __init__(self, seats: _Optional[int] = ..., months: _Optional[int] = ...) -> None: ...

class CreateOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class SendInvoiceRequest(_message.Message):
    __slots__ = ("order_id", "country", "number")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    country: str
    number: str
    def __init__(self, order_id: _Optional[str] = ..., country: _Optional[str] = ..., number: _Optional[str] = ...) -> None: ...

class SendInvoiceResponse(_message.Message):
    __slots__ = ("order", "phone_number")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    phone_number: str
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., phone_number: _Optional[str] = ...) -> None: ...

class ClickPrepareRequest(_message.Message):
    __slots__ = ("params",)
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: _containers.ScalarMap[str, str]
    def __init__(self, params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ClickPrepareResponse(_message.Message):
    __slots__ = ("answer",)
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    answer: ClickAnswer
    def __init__(self, answer: _Optional[_Union[ClickAnswer, _Mapping]] = ...) -> None: ...

class ClickCompleteRequest(_message.Message):
    __slots__ = ("params",)
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: _containers.ScalarMap[str, str]
    def __init__(self, params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ClickCompleteResponse(_message.Message):
    __slots__ = ("answer",)
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    answer: ClickAnswer
    def __init__(self, answer: _Optional[_Union[ClickAnswer, _Mapping]] = ...) -> None: ...
