"""Billing resources: the plan state (F19), orders and invoices (F18), the CLICK SHOP-API callbacks,
and the 402 guard that refuses writes once a company's prepaid period has ended."""

from __future__ import annotations

import logging
import threading
import time
from typing import Literal

import grpc
from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, Field

from crm_gateway.api import PAYMENT_EXEMPT_PREFIXES, WRITE_METHODS, Api, Schema
from crm_gateway.clients import billing as clients
from crm_gateway.errors import ApiError
from crm_gateway.schemas import PhoneIn
from crm_platform.errors import Unauthenticated

log = logging.getLogger(__name__)

bp = Blueprint("billing", __name__)
api = Api(bp, "billing")


# ---- schemas -------------------------------------------------------------------------------
class Preview(BaseModel):
    paid_until_with_one_more_user: str = Field(description="Where paid_until moves if one more user is added now")


class BillingOut(BaseModel):
    plan: Literal["trial", "paid"]
    price_per_seat_month: str = Field(description="UZS, decimal string", examples=["50000.00"])
    price_per_seat_month_tiyin: int
    seats: int = Field(description="Seats the prepaid value is spread over (the active users, at least 1)")
    seats_paid: int = Field(description="Seats of the last paid order (0 during the trial)")
    active_users: int
    paid_until: str
    expired: bool
    preview: Preview


class OrderIn(Schema):
    seats: int = Field(ge=1, le=1000)
    months: int = Field(ge=1, le=36)


class OrderOut(BaseModel):
    id: str = Field(description="Also CLICK's merchant_trans_id")
    seats: int
    months: int
    amount: str = Field(description="UZS, decimal string", examples=["300000.00"])
    amount_tiyin: int
    status: Literal["pending", "paid", "cancelled"]
    payment_url: str = Field(description="The CLICK payment page (services/pay) for this order")
    created_at: str
    paid_at: str | None = None
    invoice_id: int | None = None


class InvoiceIn(Schema):
    phone: PhoneIn


class InvoiceOut(BaseModel):
    order: OrderOut
    phone_number: str = Field(examples=["998901234567"])


class ClickCallbackIn(Schema):
    """CLICK's form fields; every value is taken as the raw string received (see click.md)."""

    click_trans_id: str | None = None
    service_id: str | None = None
    click_paydoc_id: str | None = None
    merchant_trans_id: str | None = None
    merchant_prepare_id: str | None = Field(None, description="Complete only")
    amount: str | None = None
    action: str | None = Field(None, description="0 = Prepare, 1 = Complete")
    error: str | None = None
    error_note: str | None = None
    sign_time: str | None = None
    sign_string: str | None = None


class ClickPrepareOut(BaseModel):
    click_trans_id: int | str
    merchant_trans_id: str
    merchant_prepare_id: int | None
    error: int = Field(description="0 or a negative SHOP-API code")
    error_note: str


class ClickCompleteOut(BaseModel):
    click_trans_id: int | str
    merchant_trans_id: str
    merchant_confirm_id: int | None
    error: int
    error_note: str


# ---- proto -> JSON -------------------------------------------------------------------------
def uzs(tiyin: int) -> str:
    return f"{tiyin // 100}.{tiyin % 100:02d}"


def billing_json(s) -> dict:
    return {"plan": s.plan, "price_per_seat_month": uzs(s.price_per_seat_month_tiyin),
            "price_per_seat_month_tiyin": s.price_per_seat_month_tiyin, "seats": s.seats,
            "seats_paid": s.seats_paid, "active_users": s.active_users, "paid_until": s.paid_until,
            "expired": s.expired, "preview": {"paid_until_with_one_more_user": s.paid_until_with_one_more_user}}


def order_json(o) -> dict:
    return {"id": o.id, "seats": o.seats, "months": o.months, "amount": uzs(o.amount_tiyin),
            "amount_tiyin": o.amount_tiyin, "status": o.status, "payment_url": o.payment_url,
            "created_at": o.created_at, "paid_at": o.paid_at or None, "invoice_id": o.invoice_id or None}


def _click_id(raw: str):
    try:
        return int(raw)
    except ValueError:
        return raw


# ---- plan and orders -----------------------------------------------------------------------
@api.operation("GET", "/api/v1/billing", "The plan state: price, seats, active users, paid_until, F6 preview",
               response=BillingOut)
def get_billing():
    return jsonify(billing_json(clients.get_subscription().subscription))


@api.operation("POST", "/api/v1/billing/orders", "Order seats for months (admin); answers the CLICK payment URL",
               body=OrderIn, response=OrderOut, status=201, example={"seats": 3, "months": 2},
               permission="manage_billing")
def create_order(body: OrderIn):
    return jsonify(order_json(clients.create_order(body.seats, body.months).order)), 201


@api.operation("GET", "/api/v1/billing/orders/{id}", "One order and its payment status", response=OrderOut,
               errors=(404,),
               codes={404: ("order_not_found",)})
def get_order(id: str):  # noqa: A002 - path parameter name
    return jsonify(order_json(clients.get_order(id).order))


@api.operation("POST", "/api/v1/billing/orders/{id}/invoice", "Have CLICK send an invoice for the order to a phone",
               body=InvoiceIn, response=InvoiceOut, errors=(404, 409, 503),
               example={"phone": {"country": "UZ", "number": "901234567"}}, permission="manage_billing",
               codes={404: ("order_not_found",), 409: ("order_not_payable", "invoice_rejected"), 503: ("payment_provider_unavailable",)})
def send_invoice(id: str, body: InvoiceIn):  # noqa: A002
    resp = clients.send_invoice(id, body.phone.country, body.phone.number)
    return jsonify({"order": order_json(resp.order), "phone_number": resp.phone_number})


# ---- CLICK SHOP-API callbacks --------------------------------------------------------------
def _callback_params() -> dict[str, str]:
    """The raw fields: form-encoded as CLICK sends them (a JSON object is accepted as a fallback)."""
    if request.form:
        return {k: v for k, v in request.form.items() if k in ClickCallbackIn.model_fields}
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return {k: str(v) for k, v in data.items() if k in ClickCallbackIn.model_fields and v is not None}
    return {}


def _answer_json(a, confirm: bool) -> dict:
    out = {"click_trans_id": _click_id(a.click_trans_id), "merchant_trans_id": a.merchant_trans_id}
    if confirm:
        out["merchant_confirm_id"] = a.merchant_confirm_id or None
    else:
        out["merchant_prepare_id"] = a.merchant_prepare_id or None
    out.update(error=a.error, error_note=a.error_note)
    return out


CALLBACK_DOC = ("CLICK SHOP-API callback: form-encoded and MD5-signed; the answer is always HTTP 200 with the "
                "JSON body (errors in `error`). When billing cannot be reached the answer is 503, so CLICK retries.")


@api.operation("POST", "/api/v1/payments/click/prepare", "CLICK Prepare callback (action 0)", body=ClickCallbackIn,
               response=ClickPrepareOut, auth=False, form=True, errors=(503,), description=CALLBACK_DOC,
               body_required=False)
def click_prepare(body: ClickCallbackIn):
    return jsonify(_answer_json(clients.click_prepare(_callback_params()).answer, confirm=False))


@api.operation("POST", "/api/v1/payments/click/complete", "CLICK Complete callback (action 1)",
               body=ClickCallbackIn, response=ClickCompleteOut, auth=False, form=True, errors=(503,),
               description=CALLBACK_DOC, body_required=False)
def click_complete(body: ClickCallbackIn):
    return jsonify(_answer_json(clients.click_complete(_callback_params()).answer, confirm=True))


# ---- 402 once the prepaid period has ended -------------------------------------------------

# Login, sign-up, billing and payments keep working when the subscription has expired
# (PAYMENT_EXEMPT_PREFIXES).
CACHE_SECONDS = 3.0
_cache: dict[str, tuple[float, bool, str]] = {}
_cache_lock = threading.Lock()


def _access(company_id: str, token: str) -> tuple[bool, str]:
    """Whether the company may write: billing's answer, cached a few seconds; when billing cannot be
    reached, the last answer known (however old), else allowed (billing down must not stop the CRM)."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(company_id)
    if hit and hit[0] > now:
        return hit[1], hit[2]
    from flask import g
    g.token = token  # the call forwards the caller's token; billing reads the company from it
    try:
        resp = clients.check_access()
    except grpc.RpcError as exc:
        log.warning("billing check failed (%s); using the last known answer",
                    exc.code() if hasattr(exc, "code") else exc)
        return (hit[1], hit[2]) if hit else (True, "")
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[company_id] = (now + CACHE_SECONDS, resp.active, resp.paid_until)
    return resp.active, resp.paid_until


def require_paid_subscription():
    """before_request hook: a write by a company whose prepaid period ended answers 402."""
    path = request.path
    if request.method not in WRITE_METHODS or not path.startswith("/api/v1/") or path.startswith(PAYMENT_EXEMPT_PREFIXES):
        return None
    ext = current_app.extensions["crm"]
    if "billing" not in ext.backends.addresses:
        return None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None  # the operation itself answers 401
    token = header[7:].strip()
    try:
        principal = ext.verifier.verify(token, allowed=("access",))
    except Unauthenticated:
        return None
    active, paid_until = _access(principal.company_id, token)
    if not active:
        raise ApiError(402, "payment_required", paid_until=paid_until)
    return None
