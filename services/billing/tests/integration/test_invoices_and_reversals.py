"""Billing's real gRPC service against the real CLICK simulator (on SQLite, and PostgreSQL when it
answers): two clicks on "send invoice" make one CLICK invoice, and a second payment of a paid order
is given back through the Merchant API's payment reversal.

Between the simulator and billing stands what the gateway does for the callbacks (form fields in,
billing's ClickPrepare/ClickComplete over gRPC, its answer as JSON out); the double-payment test
holds the Prepare answers there until both attempts were prepared, as two slow networks would."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as _dt
import pathlib
import threading
import time
import uuid

import grpc
import pytest
from flask import Flask, jsonify, request
from sqlalchemy import select
from werkzeug.serving import make_server

import requests
from click_simulator.app import Settings, create_app
from crm.billing.v1 import billing_service_pb2 as pb
from crm.billing.v1 import billing_service_pb2_grpc as pb_grpc
from crm_billing.adapters.click_api import ClickMerchantApi
from crm_billing.adapters.orm import OUTBOX, PLATFORM, ClickTransaction, Order, Subscription
from crm_billing.domain import model
from crm_billing.entrypoints.grpc_server import PUBLIC_METHODS, BillingServicer
from crm_billing.service_layer.invoice_caps import InvoiceCaps
from crm_billing.service_layer.services import BillingService, ClickConfig
from crm_platform.auth import ACCESS, TokenSigner, TokenVerifier, read_key
from crm_platform.db import Database
from crm_platform.errors import decode_error
from crm_platform.idempotency import METADATA_KEY, IdempotencyStore
from crm_platform.rpc import GrpcServer
from tests.support.infra import free_port, wait_for

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"
SERVICE_ID, MERCHANT_ID, MERCHANT_USER_ID, SECRET = "4411", "5522", "6633", "sim-secret"


@contextlib.contextmanager
def http_server(app: Flask):
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)


class Callbacks:
    """The gateway's part for CLICK's callbacks, over billing's real gRPC; can hold Prepare answers."""

    def __init__(self, stub):
        self.stub = stub
        self.hold: threading.Barrier | None = None
        self.app = Flask("callbacks")
        self.app.add_url_rule("/prepare", "prepare", self.prepare, methods=["POST"])
        self.app.add_url_rule("/complete", "complete", self.complete, methods=["POST"])

    @staticmethod
    def _json(a, confirm: bool) -> dict:
        out = {"click_trans_id": int(a.click_trans_id), "merchant_trans_id": a.merchant_trans_id,
               "error": a.error, "error_note": a.error_note}
        out["merchant_confirm_id" if confirm else "merchant_prepare_id"] = (
            a.merchant_confirm_id if confirm else a.merchant_prepare_id) or None
        return out

    def prepare(self):
        answer = self.stub.ClickPrepare(pb.ClickPrepareRequest(params=dict(request.form)), timeout=10).answer
        if self.hold is not None:
            self.hold.wait(timeout=20)  # both attempts are prepared before either is debited
        return jsonify(self._json(answer, confirm=False))

    def complete(self):
        answer = self.stub.ClickComplete(pb.ClickCompleteRequest(params=dict(request.form)), timeout=10).answer
        return jsonify(self._json(answer, confirm=True))


@pytest.fixture(scope="module")
def system(database_url, keys):
    """Billing's gRPC server (with its idempotency keys), the CLICK simulator and the callbacks between them."""
    db = Database(database_url)
    db.migrate(MIGRATIONS)
    sim_port = free_port()
    api = ClickMerchantApi(f"http://127.0.0.1:{sim_port}/v2/merchant", SERVICE_ID, MERCHANT_USER_ID, SECRET)
    click = ClickConfig(service_id=SERVICE_ID, merchant_id=MERCHANT_ID, merchant_user_id=MERCHANT_USER_ID,
                        secret_key=SECRET, pay_url=f"http://127.0.0.1:{sim_port}/services/pay",
                        return_url="http://127.0.0.1:1/settings/billing")
    svc = BillingService(db, price_per_seat_month_tiyin=5_000_000, trial_days=14, click=click, click_api=api)
    svc.reverser.backoff = (0.3,)  # CLICK reverses a payment once it has our Complete answer: try again soon
    srv = GrpcServer("127.0.0.1:0", TokenVerifier(read_key(keys["access_public"])), public_methods=PUBLIC_METHODS,
                     idempotency=IdempotencyStore(db, PLATFORM["idempotency_keys"]))
    srv.add(pb_grpc.add_BillingServiceServicer_to_server, BillingServicer(svc), "crm.billing.v1.BillingService")
    port = srv.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = pb_grpc.BillingServiceStub(channel)
    callbacks = Callbacks(stub)
    with http_server(callbacks.app) as callback_base:
        settings = Settings(service_id=SERVICE_ID, merchant_id=MERCHANT_ID, merchant_user_id=MERCHANT_USER_ID,
                            secret_key=SECRET, callback_base=callback_base, port=sim_port, timeout=15)
        sim_app = create_app(settings)
        server = make_server("127.0.0.1", sim_port, sim_app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield {"db": db, "svc": svc, "stub": stub, "clicker": sim_app.extensions["clicker"],
                   "callbacks": callbacks, "sim": f"http://127.0.0.1:{sim_port}",
                   "signer": TokenSigner(read_key(keys["access_private"]))}
        finally:
            server.shutdown()
            thread.join(10)
            channel.close()
            srv.stop(1)
            db.dispose()


def admin_token(system, company_id: str) -> str:
    return system["signer"].sign(typ=ACCESS, company_id=company_id, user_id=str(uuid.uuid4()),
                                 ttl=_dt.timedelta(minutes=5), permissions=["manage_billing"])


def new_order(system, seats: int = 1, months: int = 1) -> tuple[str, str, pb.Order]:
    company = str(uuid.uuid4())
    token = admin_token(system, company)
    order = system["stub"].CreateOrder(pb.CreateOrderRequest(seats=seats, months=months), timeout=10,
                                       metadata=[("authorization", f"Bearer {token}")]).order
    with system["db"].session(write=True) as s:  # the subscription, as the consumer makes it for a new company
        system["svc"]._lock_subscription(s, company, int(time.time()))
    return company, token, order


def at_once(*calls):
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


def test_two_concurrent_send_invoice_calls_make_one_click_invoice(system):
    _, token, order = new_order(system)

    def send():  # two clicks: two requests, each with its own idempotency key (the gateway's request id)
        md = [("authorization", f"Bearer {token}"), (METADATA_KEY, str(uuid.uuid4()))]
        return system["stub"].SendInvoice(pb.SendInvoiceRequest(order_id=order.id, country="UZ", number="901234567"),
                                          metadata=md, timeout=15)

    first, second = at_once(send, send)
    invoices = [i for i in system["clicker"].invoices.values() if i.merchant_trans_id == order.id]
    assert len(invoices) == 1, invoices
    assert first.order.invoice_id == second.order.invoice_id == invoices[0].invoice_id
    assert first.phone_number == second.phone_number == invoices[0].phone_number == "998901234567"
    third = send()  # later, the same phone again: still the one pending invoice
    assert third.order.invoice_id == invoices[0].invoice_id
    assert len([i for i in system["clicker"].invoices.values() if i.merchant_trans_id == order.id]) == 1


def pay_by_card(system, order: pb.Order, card: str) -> str:
    page = requests.post(f"{system['sim']}/services/pay", timeout=60, data={
        "service_id": SERVICE_ID, "merchant_id": MERCHANT_ID, "amount": f"{order.amount_tiyin // 100}.00",
        "transaction_param": order.id, "card_number": card, "expire_date": "1230"})
    assert page.status_code == 200, page.text
    return page.text


def paid_twice(system, card: str):
    """Two attempts on one order, both prepared while it is pending, both debited."""
    company, _, order = new_order(system, seats=2, months=1)
    with system["db"].session() as s:
        start = s.get(Subscription, company).paid_until
    system["callbacks"].hold = threading.Barrier(2)
    try:
        at_once(lambda: pay_by_card(system, order, card), lambda: pay_by_card(system, order, card))
    finally:
        system["callbacks"].hold = None
    payments = [p for p in system["clicker"].payments.values() if p.merchant_trans_id == order.id]
    assert len(payments) == 2
    assert [p.complete_answer["error"] for p in payments] == [0, 0]  # a debited payment is never answered an error
    return company, order, payments, start


def transactions(system, order_id: str) -> list[ClickTransaction]:
    with system["db"].session() as s:
        return s.execute(select(ClickTransaction).where(ClickTransaction.order_id == order_id)
                         .order_by(ClickTransaction.id)).scalars().all()


def test_a_second_paid_complete_is_reversed_through_the_merchant_api(system):
    company, order, payments, start = paid_twice(system, "8600123412341234")
    txns = wait_for(lambda: (lambda t: t if sorted(x.status for x in t) == ["completed", "reversed"] else None)(
        transactions(system, order.id)), timeout=20, message="the second payment reversed")
    kept = next(t for t in txns if t.status == "completed")
    back = next(t for t in txns if t.status == "reversed")
    by_id = {str(p.payment_id): p for p in payments}
    assert by_id[kept.click_paydoc_id].status == 2 and by_id[kept.click_paydoc_id].reversed_at is None
    assert by_id[back.click_paydoc_id].reversed_at is not None and by_id[back.click_paydoc_id].status == -1
    assert back.reversed_at is not None and back.reversal_next_at is None and back.reversal_error is None
    status = ClickMerchantApi(f"{system['sim']}/v2/merchant", SERVICE_ID, MERCHANT_USER_ID, SECRET).payment_status(
        int(back.click_paydoc_id))
    assert status["payment_status"] == -1
    with system["db"].session() as s:  # the order was paid and fulfilled once
        assert s.get(Order, order.id).status == "paid"
        assert s.get(Subscription, company).paid_until == start + 2 * 30 * 86400
        events = s.execute(select(OUTBOX.c.id).where(OUTBOX.c.company_id == company,
                                                     OUTBOX.c.event_type.like("%PaymentCompleted"))).all()
    assert len(events) == 1
    assert by_id[back.click_paydoc_id].complete_answer["merchant_confirm_id"] == back.id
    # CLICK sending the reversed attempt's Complete again: already confirmed (-4), nothing changes
    fields = {"click_trans_id": str(back.click_trans_id), "service_id": SERVICE_ID,
              "click_paydoc_id": back.click_paydoc_id, "merchant_trans_id": order.id,
              "merchant_prepare_id": str(back.id), "amount": back.amount, "action": "1", "error": "0",
              "error_note": "Success", "sign_time": "2026-12-02 10:00:00"}
    fields["sign_string"] = model.complete_sign(fields, SECRET)
    assert system["stub"].ClickComplete(pb.ClickCompleteRequest(params=fields), timeout=10).answer.error == -4
    assert [t.status for t in transactions(system, order.id)] == [t.status for t in txns]


def test_a_reversal_the_bank_refuses_is_given_up_after_its_attempts(system):
    system["svc"].reverser.max_attempts = 3
    try:
        _, order, _, _ = paid_twice(system, "8600123412340003")  # this card's bank refuses reversals
        txns = wait_for(lambda: (lambda t: t if "reversal_failed" in {x.status for x in t} else None)(
            transactions(system, order.id)), timeout=20, message="the reversal given up")
    finally:
        system["svc"].reverser.max_attempts = 12
    failed = next(t for t in txns if t.status == "reversal_failed")
    assert failed.reversal_attempts == 3 and failed.reversal_next_at is None
    assert "-33" in failed.reversal_error and "refused" in failed.reversal_error


def _invoice(system, token: str, order_id: str, number: str):
    md = [("authorization", f"Bearer {token}"), (METADATA_KEY, str(uuid.uuid4()))]
    return system["stub"].SendInvoice(pb.SendInvoiceRequest(order_id=order_id, country="UZ", number=number),
                                      metadata=md, timeout=15)


def _refused(system, token: str, order_id: str, number: str) -> dict:
    with pytest.raises(grpc.RpcError) as info:
        _invoice(system, token, order_id, number)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    body = decode_error(info.value.trailing_metadata())
    assert body["code"] == "rate_limited" and 0 < body["details"]["retry_after"] <= 3600, body
    return body["details"]


def _sent_to(system, phone: str) -> int:
    return len([i for i in system["clicker"].invoices.values() if i.phone_number == phone])


def _number() -> str:
    return f"90{uuid.uuid4().int % 10_000_000:07d}"


def test_one_phone_gets_at_most_three_invoices_an_hour_whoever_sends_them(system):
    number = _number()
    for _ in range(3):  # three companies' orders to one phone
        _, token, order = new_order(system)
        _invoice(system, token, order.id, number)
    _, token, order = new_order(system)
    assert _refused(system, token, order.id, number)["limit"] == "phone"
    assert _sent_to(system, f"998{number}") == 3  # CLICK was not asked a fourth time
    with system["db"].session() as s:
        assert s.get(Order, order.id).invoice_id is None  # the refused order is unchanged
    other = _invoice(system, token, order.id, _number())  # another phone is fine
    assert other.order.invoice_id


def test_one_order_goes_to_at_most_five_phones_an_hour_and_a_repeat_counts_nothing(system):
    _, token, order = new_order(system)
    numbers = [_number() for _ in range(5)]
    for n in numbers:
        _invoice(system, token, order.id, n)
        _invoice(system, token, order.id, n)  # a repeated click: the pending invoice, no new one
    assert _refused(system, token, order.id, _number())["limit"] == "order"
    assert sum(_sent_to(system, f"998{n}") for n in numbers) == 5


def test_a_company_has_its_cap_of_invoices_an_hour(system):
    caps = system["svc"].invoice_caps
    system["svc"].invoice_caps = InvoiceCaps(per_order=5, per_phone=3, per_company=4)
    try:
        company, token, _ = new_order(system)
        for _ in range(4):
            order = system["stub"].CreateOrder(pb.CreateOrderRequest(seats=1, months=1), timeout=10,
                                               metadata=[("authorization", f"Bearer {token}")]).order
            _invoice(system, token, order.id, _number())
        assert _refused(system, token, order.id, _number())["limit"] == "company"
        _, other_token, other_order = new_order(system)  # another company is not held back by this one
        assert _invoice(system, other_token, other_order.id, _number()).order.invoice_id
    finally:
        system["svc"].invoice_caps = caps
