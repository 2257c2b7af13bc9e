"""Billing use cases: the plan state (F19), seats (F6), orders, invoices and the CLICK callbacks (F18).

Every change of a subscription and its event (through the outbox) happen in one transaction.
The CLICK callbacks are idempotent on click_trans_id: the order row is locked first (SELECT ...
FOR UPDATE on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE), a unique constraint
backs it up, and the subscription is extended in the same transaction as the status change.
A second payment of an order another attempt paid already is answered with success and reversed
through the Merchant API (`crm_billing.service_layer.reversals`).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import grpc
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.billing.events.v1 import billing_events_pb2 as ev
from crm_platform.context import Principal
from crm_platform.db import Database, rfc3339, utcnow
from crm_platform.errors import AppError, FailedPrecondition, FieldCollector, NotFound, PermissionDenied
from crm_platform.topics import topics_in
from crm_platform.uow import Units
from crm_billing.adapters.click_api import ClickApiError, ClickMerchantApi
from crm_billing.adapters.orm import PLATFORM, ClickTransaction, Order, SeatUser, Subscription
from crm_billing.domain import model
from crm_billing.domain.model import Plan
from crm_billing.service_layer.invoice_caps import InvoiceCaps
from crm_billing.service_layer.reversals import Reverser

log = logging.getLogger(__name__)

TOPICS = topics_in(ev)
# An attempt CLICK confirmed (a repeated Prepare or Complete of it is -4): the order's payment, or a
# second payment of a paid order (being) given back.
CONFIRMED = ("completed", "reversing", "reversed", "reversal_failed")


class ProviderUnavailable(AppError):
    """CLICK's Merchant API did not answer (HTTP 503)."""

    status = grpc.StatusCode.UNAVAILABLE


def now_seconds() -> int:
    return int(time.time())


@dataclass
class ClickConfig:
    """The merchant's CLICK credentials and URLs."""

    service_id: str
    merchant_id: str
    merchant_user_id: str
    secret_key: str
    pay_url: str
    return_url: str


@dataclass
class State:
    """The plan state as shown to the company."""

    plan: str
    price_per_seat_month_tiyin: int
    seats: int
    active_users: int
    paid_until: int
    expired: bool
    paid_until_with_one_more_user: int
    seats_paid: int


class BillingService:
    """The billing use cases over one database."""

    def __init__(self, db: Database, *, price_per_seat_month_tiyin: int, trial_days: int, click: ClickConfig,
                 click_api: ClickMerchantApi | None = None, invoice_caps: InvoiceCaps = InvoiceCaps()):
        self.db = db
        self.invoice_caps = invoice_caps
        self.units = Units(db, PLATFORM)
        self.price = price_per_seat_month_tiyin
        self.trial_seconds = trial_days * model.DAY_SECONDS
        self.click = click
        self.click_api = click_api
        self.reverser = Reverser(db, click_api)

    # ---- subscriptions ------------------------------------------------------------------------
    def _lock_subscription(self, s: Session, company_id: str, at: int, create: bool = True) -> Subscription | None:
        q = select(Subscription).where(Subscription.company_id == company_id)
        if not self.db.is_sqlite:
            q = q.with_for_update()
        sub = s.execute(q).scalar_one_or_none()
        if sub is None and create:
            now = utcnow()
            sub = Subscription(company_id=company_id, plan="trial", seats=1, active_users=0,
                               paid_until=at + self.trial_seconds, remainder=0, seats_paid=0, as_of=at,
                               created_at=now, updated_at=now)
            s.add(sub)
            s.flush()
            self._changed(s, sub, "trial_started", "system")
        return sub

    def _changed(self, s: Session, sub: Subscription, reason: str, actor: str) -> None:
        sub.updated_at = utcnow()
        with self.units.within(s, sub.company_id, actor) as uow:
            uow.publish(sub.company_id, ev.SubscriptionChanged(seats=sub.seats, active_users=sub.active_users,
                                                               paid_until=rfc3339(sub.paid_until), reason=reason))

    @staticmethod
    def _apply(sub: Subscription, plan: Plan, at: int) -> None:
        sub.seats, sub.paid_until, sub.remainder = plan.seats, plan.paid_until, plan.remainder
        sub.as_of = max(sub.as_of, at)

    @staticmethod
    def _plan(sub: Subscription) -> Plan:
        return Plan(sub.seats, sub.paid_until, sub.remainder)

    def state(self, company_id: str) -> State:
        """The plan state of a company (a not yet recorded company is shown as a fresh trial)."""
        now = now_seconds()
        with self.db.session() as s:
            sub = s.get(Subscription, company_id)
        if sub is None:
            plan, users, name, seats_paid = Plan(1, now + self.trial_seconds), 0, "trial", 0
        else:
            plan, users, name, seats_paid = self._plan(sub), sub.active_users, sub.plan, sub.seats_paid
        at = max(now, sub.as_of if sub else now)
        preview = plan.respread(model.billed_seats(users + 1), at)
        return State(plan=name, price_per_seat_month_tiyin=self.price, seats=plan.seats, active_users=users,
                     paid_until=plan.paid_until, expired=plan.paid_until <= now,
                     paid_until_with_one_more_user=preview.paid_until, seats_paid=seats_paid)

    def get_subscription(self, principal: Principal) -> State:
        return self.state(principal.company_id)

    def check_access(self, principal: Principal) -> State:
        return self.state(principal.company_id)

    # ---- identity events (IdempotentConsumer handlers: same transaction as processed_events) --
    @staticmethod
    def _event_time(message) -> int:
        seconds = message.metadata.occurred_at.seconds
        return int(seconds) if seconds > 0 else now_seconds()

    def on_company_created(self, s: Session, message) -> None:
        """A new company starts its trial at the moment it was created."""
        self._lock_subscription(s, message.metadata.company_id, self._event_time(message))

    def on_user_created(self, s: Session, message) -> None:
        """F6: one more active user spreads the remaining value over one more seat."""
        company_id = message.metadata.company_id
        at = self._event_time(message)
        sub = self._lock_subscription(s, company_id, at)
        seat = s.get(SeatUser, message.user_id)
        if seat is not None:
            return  # already counted (or deactivated: only UserActivated counts it again)
        s.add(SeatUser(user_id=message.user_id, company_id=company_id, active=True, changed_at=utcnow()))
        self._set_users(s, sub, sub.active_users + 1, at, "user_created")

    def on_user_deactivated(self, s: Session, message) -> None:
        """F6 backwards: one user fewer spreads the remaining value over one seat fewer."""
        company_id = message.metadata.company_id
        at = self._event_time(message)
        sub = self._lock_subscription(s, company_id, at)
        seat = s.get(SeatUser, message.user_id)
        if seat is None or not seat.active:
            return
        seat.active = False
        seat.changed_at = utcnow()
        self._set_users(s, sub, max(0, sub.active_users - 1), at, "user_deactivated")

    def on_user_activated(self, s: Session, message) -> None:
        """F6 again: a reactivated user takes a seat again (once, however often the event comes)."""
        company_id = message.metadata.company_id
        at = self._event_time(message)
        sub = self._lock_subscription(s, company_id, at)
        seat = s.get(SeatUser, message.user_id)
        if seat is not None and seat.active:
            return
        if seat is None:  # a user billing never counted (created before it listened): counted from now
            s.add(SeatUser(user_id=message.user_id, company_id=company_id, active=True, changed_at=utcnow()))
        else:
            seat.active = True
            seat.changed_at = utcnow()
        self._set_users(s, sub, sub.active_users + 1, at, "user_activated")

    def _set_users(self, s: Session, sub: Subscription, users: int, at: int, reason: str) -> None:
        at = max(at, sub.as_of)
        sub.active_users = users
        self._apply(sub, self._plan(sub).respread(model.billed_seats(users), at), at)
        self._changed(s, sub, reason, "system")

    # ---- orders --------------------------------------------------------------------------------
    @staticmethod
    def _require_billing(principal: Principal) -> None:
        if not principal.can("manage_billing"):
            raise PermissionDenied("forbidden", "Managing billing is not allowed", permission="manage_billing")

    def payment_url(self, order: Order) -> str:
        query = urlencode({"service_id": self.click.service_id, "merchant_id": self.click.merchant_id,
                           "amount": model.format_uzs(order.amount_tiyin), "transaction_param": order.id,
                           "return_url": f"{self.click.return_url}?order={order.id}"})
        return f"{self.click.pay_url}?{query}"

    def create_order(self, principal: Principal, seats: int, months: int) -> Order:
        """An admin orders `seats` seats for `months` months; the server computes the amount."""
        self._require_billing(principal)
        errors = FieldCollector()
        for name, value, top in (("seats", seats, model.MAX_SEATS), ("months", months, model.MAX_MONTHS)):
            if value < 1:
                errors.add(name, "too_small", min=1)
            elif value > top:
                errors.add(name, "too_large", max=top)
        errors.raise_if_any()
        order = Order(id=str(uuid.uuid4()), company_id=principal.company_id, seats=seats, months=months,
                      amount_tiyin=model.order_amount(self.price, seats, months), status="pending",
                      created_by=principal.user_id, created_at=utcnow())
        with self.units.of(principal) as uow:
            uow.session.add(order)
        return order

    def get_order(self, principal: Principal, order_id: str) -> Order:
        with self.db.session(company_id=principal.company_id) as s:
            order = s.execute(select(Order).where(Order.id == order_id)).scalar_one_or_none()
        if order is None:
            raise NotFound("order_not_found", "Order not found")
        return order

    def send_invoice(self, principal: Principal, order_id: str, country: str, number: str) -> tuple[Order, str]:
        """Ask CLICK to send an invoice for a pending order to a phone (validated like F15).

        The order's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the unit's
        BEGIN IMMEDIATE), and held over `invoice/create` (at most its 5 s timeout): two clicks run one
        after the other, and the second finds the first one's invoice for that phone and returns it
        instead of making another. Another phone gets an invoice of its own (a mistyped number can be
        corrected); if both are paid, the second payment is reversed (`_complete`). A new invoice is
        within the hourly caps per order, phone and company (`invoice_caps`) or refused (429)."""
        self._require_billing(principal)
        errors = FieldCollector()
        phone = model.check_phone(errors, country, number)
        errors.raise_if_any()
        with self.units.of(principal) as uow:
            order = self._lock_order(uow.session, order_id)
            if order is None:
                raise NotFound("order_not_found", "Order not found")
            if order.status != "pending":
                raise FailedPrecondition("order_not_payable", "The order is not awaiting payment", status=order.status)
            if order.invoice_id and order.invoice_phone == phone:
                return order, phone  # a repeated click: the pending invoice again
            if self.click_api is None:
                raise ProviderUnavailable("payment_provider_unavailable", "CLICK is not configured")
            now = utcnow()
            self.invoice_caps.check(uow.session, order.company_id, order.id, phone, now)
            try:
                answer = self.click_api.create_invoice(model.format_uzs(order.amount_tiyin), phone, order.id)
            except ClickApiError as exc:
                log.warning("invoice/create failed: %s", exc)
                raise ProviderUnavailable("payment_provider_unavailable", "CLICK did not answer") from exc
            if answer.get("error_code") != 0 or not answer.get("invoice_id"):
                raise FailedPrecondition("invoice_rejected", "CLICK refused the invoice",
                                         note=str(answer.get("error_note", "")))
            order.invoice_id = int(answer["invoice_id"])
            order.invoice_phone = phone
            self.invoice_caps.record(uow.session, order.company_id, order.id, phone, order.invoice_id, now)
        return order, phone

    # ---- CLICK SHOP-API callbacks ---------------------------------------------------------------
    def click_prepare(self, params: dict[str, str]) -> dict:
        return self._callback(params, model.PREPARE)

    def click_complete(self, params: dict[str, str]) -> dict:
        return self._callback(params, model.COMPLETE)

    def _callback(self, params: dict[str, str], endpoint_action: int) -> dict:
        p = {k: str(v) for k, v in params.items()}
        answer = {"click_trans_id": p.get("click_trans_id", ""), "merchant_trans_id": p.get("merchant_trans_id", ""),
                  "merchant_prepare_id": 0, "merchant_confirm_id": 0}
        code = self._check(p, endpoint_action)
        if code is None:
            for attempt in range(3):
                try:
                    if endpoint_action == model.PREPARE:
                        code, prepare_id = self._prepare(p)
                        answer["merchant_prepare_id"] = prepare_id
                    else:
                        code, confirm_id, reverse = self._complete(p)
                        answer["merchant_confirm_id"] = confirm_id
                        if reverse:  # committed: return the second payment's money now
                            self.reverser.kick()
                    break
                except IntegrityError:  # a concurrent duplicate inserted first: look again
                    if attempt == 2:
                        raise
        answer["error"] = code
        answer["error_note"] = model.ERROR_NOTES[code]
        log.info("click %s %s -> %s", "prepare" if endpoint_action == model.PREPARE else "complete",
                 answer["click_trans_id"], code, extra={"merchant_trans_id": answer["merchant_trans_id"]})
        return answer

    def _check(self, p: dict[str, str], endpoint_action: int) -> int | None:
        """The checks that need no database: fields, action, signature, service id."""
        action = model.parse_int(p.get("action"))
        if model.missing_fields(p, endpoint_action if action not in (0, 1) else action):
            return model.BAD_REQUEST
        if action != endpoint_action:
            return model.ACTION_NOT_FOUND
        if not model.signature_ok(p, self.click.secret_key, action):
            return model.SIGN_FAILED
        if p["service_id"].strip() != self.click.service_id:
            return model.BAD_REQUEST
        if model.parse_int(p["click_trans_id"]) is None or model.parse_int(p["error"]) is None:
            return model.BAD_REQUEST
        if action == model.COMPLETE and model.parse_int(p["merchant_prepare_id"]) is None:
            return model.TRANSACTION_NOT_FOUND
        return None

    def _lock_order(self, s: Session, order_id: str) -> Order | None:
        if len(order_id) > 36:
            return None
        q = select(Order).where(Order.id == order_id)
        if not self.db.is_sqlite:
            q = q.with_for_update()
        return s.execute(q).scalar_one_or_none()

    def _prepare(self, p: dict[str, str]) -> tuple[int, int]:
        click_trans_id = model.parse_int(p["click_trans_id"])
        with self.units.write(None, "click") as uow:
            s = uow.session
            order = self._lock_order(s, p["merchant_trans_id"])
            if order is None:
                return model.USER_NOT_FOUND, 0
            txn = s.execute(select(ClickTransaction).where(
                ClickTransaction.click_trans_id == click_trans_id)).scalar_one_or_none()
            if txn is not None:
                if txn.order_id != order.id:
                    return model.BAD_REQUEST, 0
                if txn.status in CONFIRMED:
                    return model.ALREADY_PAID, txn.id
                if txn.status == "cancelled":
                    return model.CANCELLED, txn.id
            if order.status == "paid":
                return model.ALREADY_PAID, 0
            if order.status == "cancelled":
                return model.CANCELLED, 0
            if not model.amount_matches(p["amount"], order.amount_tiyin):
                return model.BAD_AMOUNT, 0
            if txn is not None:  # a repeated Prepare of a pending attempt: the same id again
                return model.OK, txn.id
            txn = ClickTransaction(click_trans_id=click_trans_id, click_paydoc_id=p.get("click_paydoc_id", "")[:32],
                                   order_id=order.id, company_id=order.company_id, amount=p["amount"][:32],
                                   sign_time=p["sign_time"][:32], status="prepared",
                                   click_error=model.parse_int(p["error"]), error_note=p.get("error_note", "")[:200],
                                   created_at=utcnow())
            s.add(txn)
            s.flush()
            return model.OK, txn.id

    def _complete(self, p: dict[str, str]) -> tuple[int, int, bool]:
        """The answer, the confirm id, and whether a reversal became due (to start after the commit)."""
        click_trans_id = model.parse_int(p["click_trans_id"])
        prepare_id = model.parse_int(p["merchant_prepare_id"])
        click_error = model.parse_int(p["error"])
        with self.units.write(None, "click") as uow:
            s = uow.session
            order = self._lock_order(s, p["merchant_trans_id"])
            if order is None:
                return model.USER_NOT_FOUND, 0, False
            q = select(ClickTransaction).where(ClickTransaction.id == prepare_id)
            if not self.db.is_sqlite:
                q = q.with_for_update()
            txn = s.execute(q).scalar_one_or_none()
            if txn is None or txn.order_id != order.id or txn.click_trans_id != click_trans_id:
                return model.TRANSACTION_NOT_FOUND, 0, False
            if txn.status in CONFIRMED:
                return model.ALREADY_PAID, txn.id, False
            if txn.status == "cancelled":
                return model.CANCELLED, 0, False
            if order.status == "paid" and click_error < 0:  # another attempt paid it; this debit failed
                self._cancel(txn, click_error, p)
                return model.ALREADY_PAID, 0, False
            if order.status == "cancelled":
                self._cancel(txn, click_error, p)
                return model.CANCELLED, 0, False
            if not model.amount_matches(p["amount"], order.amount_tiyin):
                return model.BAD_AMOUNT, 0, False
            if click_error < 0:  # the debit failed: release the order
                self._cancel(txn, click_error, p)
                order.status = "cancelled"
                return model.CANCELLED, 0, False
            now = utcnow()
            txn.completed_at, txn.click_error = now, click_error
            if order.status == "paid":  # debited a second time: accept (click.md 2.4), give the money back
                txn.status, txn.reversal_next_at = "reversing", now
                log.warning("order %s paid twice: click payment %s will be reversed", order.id, txn.click_paydoc_id)
                return model.OK, txn.id, True
            txn.status = "completed"
            order.status, order.paid_at = "paid", now
            self._fulfil(s, order, txn)
            return model.OK, txn.id, False

    @staticmethod
    def _cancel(txn: ClickTransaction, click_error: int, p: dict[str, str]) -> None:
        txn.status, txn.click_error, txn.completed_at = "cancelled", click_error, utcnow()
        txn.error_note = p.get("error_note", "")[:200]

    def _fulfil(self, s: Session, order: Order, txn: ClickTransaction) -> None:
        """Extend the subscription by what the order bought, in the payment's transaction."""
        at = now_seconds()
        sub = self._lock_subscription(s, order.company_id, at)
        at = max(at, sub.as_of)
        self._apply(sub, self._plan(sub).add_value(model.bought_seat_seconds(order.seats, order.months), at), at)
        sub.plan = "paid"
        sub.seats_paid = order.seats
        with self.units.within(s, order.company_id, "click") as uow:
            uow.publish(order.company_id, ev.PaymentCompleted(
                order_id=order.id, seats=order.seats, months=order.months, amount_tiyin=order.amount_tiyin,
                click_trans_id=str(txn.click_trans_id), paid_until=rfc3339(sub.paid_until)))
        self._changed(s, sub, "payment", "click")

    # ---- views ---------------------------------------------------------------------------------
    def order_view(self, order: Order) -> dict:
        return {"id": order.id, "seats": order.seats, "months": order.months, "amount_tiyin": order.amount_tiyin,
                "status": order.status, "payment_url": self.payment_url(order), "created_at": rfc3339(order.created_at),
                "paid_at": rfc3339(order.paid_at), "invoice_id": order.invoice_id or 0}
