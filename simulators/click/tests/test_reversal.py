"""The simulator's Merchant API payment reversal (`DELETE payment/reversal/:service_id/:payment_id`,
click.md 4.2): only a successful payment of this month (last month's on the 1st) is reversed, the
card's bank may refuse, the Auth header is checked, and a repeated reversal answers as the first."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import threading
import time

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from click_simulator.app import (REVERSAL_NOT_SUCCESSFUL, REVERSAL_REFUSED, REVERSAL_TOO_OLD, Settings, create_app,
                                 sign)
from tests.support.infra import free_port

SECRET = "sim-secret"


def merchant() -> Flask:
    """A shop that checks CLICK's signatures and accepts every payment (the merchant's side of SHOP-API)."""
    app = Flask("merchant")

    @app.post("/<action>")
    def callback(action: str):
        fields = dict(request.form)
        ok = fields["sign_string"] == sign(fields, SECRET)
        return jsonify({"click_trans_id": int(fields["click_trans_id"]),
                        "merchant_trans_id": fields["merchant_trans_id"], "merchant_prepare_id": 7,
                        "merchant_confirm_id": 7, "error": 0 if ok else -1, "error_note": "Success" if ok else "sign"})

    return app


@pytest.fixture(scope="module")
def simulator():
    port = free_port()
    server = make_server("127.0.0.1", port, merchant(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app = create_app(Settings(service_id="11", merchant_id="22", merchant_user_id="33", secret_key=SECRET,
                              callback_base=f"http://127.0.0.1:{port}", attempts=2))
    try:
        yield app
    finally:
        server.shutdown()
        thread.join(10)


def auth(secret: str = SECRET, user: str = "33") -> dict:
    stamp = str(int(time.time()))
    return {"Auth": f"{user}:{hashlib.sha1((stamp + secret).encode()).hexdigest()}:{stamp}",  # noqa: S324
            "Accept": "application/json"}


def pay(app, card: str):
    return app.extensions["clicker"].pay("order-1", "1000.00", card)


def reverse(app, payment_id: int, service_id: str = "11", headers: dict | None = None):
    return app.test_client().delete(f"/v2/merchant/payment/reversal/{service_id}/{payment_id}",
                                    headers=auth() if headers is None else headers)


def test_a_successful_payment_is_reversed_once(simulator):
    payment = pay(simulator, "8600123412341234")
    assert payment.status == 2
    resp = reverse(simulator, payment.payment_id)
    assert resp.status_code == 200
    assert resp.json == {"error_code": 0, "error_note": "Success", "payment_id": payment.payment_id}
    status = simulator.test_client().get(f"/v2/merchant/payment/status/11/{payment.payment_id}", headers=auth())
    assert status.json["payment_status"] == -1 and payment.reversed_at is not None
    again = reverse(simulator, payment.payment_id)  # its answer was lost: asked again, the same outcome
    assert again.status_code == 200 and again.json["error_code"] == 0


def test_only_a_successful_payment_can_be_reversed(simulator):
    declined = pay(simulator, "8600123412340002")
    assert declined.status == -1
    resp = reverse(simulator, declined.payment_id)
    assert resp.status_code == 200 and resp.json["error_code"] == REVERSAL_NOT_SUCCESSFUL


def test_the_cards_bank_may_refuse_a_reversal(simulator):
    payment = pay(simulator, "8600123412340003")
    assert payment.status == 2
    resp = reverse(simulator, payment.payment_id)
    assert resp.json["error_code"] == REVERSAL_REFUSED and payment.reversed_at is None and payment.status == 2


def test_only_this_months_payments_are_reversed_and_last_months_on_the_first(simulator):
    clicker = simulator.extensions["clicker"]
    payment = pay(simulator, "8600123412341234")
    payment.created_on = _dt.date(2026, 11, 30)
    assert clicker.reverse(payment, today=_dt.date(2026, 12, 2)) == (
        REVERSAL_TOO_OLD, "Only payments of the current month can be reversed")
    assert clicker.reverse(payment, today=_dt.date(2027, 1, 1))[0] == REVERSAL_TOO_OLD  # two months back
    assert clicker.reverse(payment, today=_dt.date(2026, 12, 1))[0] == 0  # the 1st of the next month
    january = pay(simulator, "8600123412341234")
    january.created_on = _dt.date(2026, 12, 31)
    assert clicker.reverse(january, today=_dt.date(2027, 1, 1))[0] == 0  # across a year


def test_unknown_payments_other_services_and_bad_auth(simulator):
    payment = pay(simulator, "8600123412341234")
    assert reverse(simulator, 999).status_code == 404
    assert reverse(simulator, payment.payment_id, service_id="12").status_code == 404
    assert reverse(simulator, payment.payment_id, headers=auth(secret="guess")).status_code == 401
    assert reverse(simulator, payment.payment_id, headers=auth(user="34")).status_code == 401
    assert reverse(simulator, payment.payment_id, headers={}).status_code == 401
    assert payment.reversed_at is None and payment.status == 2
