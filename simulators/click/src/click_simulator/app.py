"""The simulator's HTTP app: CLICK's payment page, its SHOP-API callbacks, and its Merchant API.

What it does, as CLICK does (click.md):
- `GET /services/pay?service_id&merchant_id&amount&transaction_param&return_url` shows the payment
  page: pay with a card (number + expiry), or have an invoice sent to a phone.
- Paying sends a signed Prepare (action 0) to `$CLICK_CALLBACK_BASE/prepare`, then, when the
  merchant answered 0, a signed Complete (action 1, error 0 when the card was debited, -5017 when
  it was declined) to `$CLICK_CALLBACK_BASE/complete`. A callback that gets no HTTP 200 JSON
  answer is sent again (same fields) until it does or the attempts run out.
- The Merchant API under `/v2/merchant/`: `POST invoice/create`, `GET invoice/status/:service_id/
  :invoice_id`, `GET payment/status/:service_id/:payment_id`, `DELETE payment/reversal/:service_id/
  :payment_id`, each checking the `Auth` header `merchant_user_id:sha1(timestamp + secret_key):timestamp`.
  A reversal follows click.md 4.2's conditions: only a payment that completed successfully, made
  this month (last month's only on the 1st), with an online card (every card payment here), and
  UZCARD may refuse it. The docs give no business error codes for it; the simulator answers HTTP 200
  with `error_code` REVERSAL_NOT_SUCCESSFUL, REVERSAL_TOO_OLD or REVERSAL_REFUSED, 404 for an
  unknown payment, and 0 again for a payment already reversed (an assumption: a DELETE repeated
  after a lost answer succeeds). A reversed payment's `payment_status` is -1 ("Reversed").
- `GET /invoices/:invoice_id` is the "CLICK app" of the phone's owner: pay the invoice by card.

Test cards: any 16-digit number with a future expiry (MMYY) pays; a number ending in 0002 is
declined (insufficient funds); one ending in 0003 pays, but the card's bank refuses to reverse it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import hmac
import itertools
import logging
import os
import threading
import time
from decimal import Decimal, InvalidOperation

import requests
from flask import Flask, jsonify, render_template_string, request

log = logging.getLogger("click_simulator")

DECLINED_SUFFIX = "0002"
NO_REVERSAL_SUFFIX = "0003"
DECLINED_ERROR = -5017
REVERSAL_NOT_SUCCESSFUL, REVERSAL_TOO_OLD, REVERSAL_REFUSED = -31, -32, -33


@dataclasses.dataclass(frozen=True)
class Settings:
    """The same CLICK_* variables billing reads, plus where to send the callbacks."""

    service_id: str
    merchant_id: str
    merchant_user_id: str
    secret_key: str
    callback_base: str
    port: int = 8090
    attempts: int = 8
    timeout: float = 5.0
    retry_delay: float = 0.3

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        env = os.environ if env is None else env
        missing = [n for n in ("CLICK_SERVICE_ID", "CLICK_MERCHANT_ID", "CLICK_MERCHANT_USER_ID", "CLICK_SECRET_KEY",
                               "CLICK_CALLBACK_BASE") if not env.get(n)]
        if missing:
            raise SystemExit(f"click_simulator: missing settings: {', '.join(missing)}")
        return cls(service_id=env["CLICK_SERVICE_ID"], merchant_id=env["CLICK_MERCHANT_ID"],
                   merchant_user_id=env["CLICK_MERCHANT_USER_ID"], secret_key=env["CLICK_SECRET_KEY"],
                   callback_base=env["CLICK_CALLBACK_BASE"].rstrip("/"),
                   port=int(env.get("CLICK_SIMULATOR_PORT", "8090")),
                   attempts=int(env.get("CLICK_SIMULATOR_ATTEMPTS", "8")),
                   timeout=float(env.get("CLICK_SIMULATOR_TIMEOUT_SECONDS", "5")))


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - CLICK's signature


def sign(fields: dict[str, str], secret: str) -> str:
    """Prepare: md5(ctid+sid+SECRET+mti+amount+action+time); Complete adds merchant_prepare_id after mti."""
    prepare_id = fields.get("merchant_prepare_id", "") if fields["action"] == "1" else ""
    return md5(fields["click_trans_id"] + fields["service_id"] + secret + fields["merchant_trans_id"] + prepare_id
               + fields["amount"] + fields["action"] + fields["sign_time"])


def api_digest(timestamp: str, secret: str) -> str:
    return hashlib.sha1((timestamp + secret).encode()).hexdigest()  # noqa: S324 - CLICK's Auth digest


@dataclasses.dataclass
class Payment:
    payment_id: int  # click_paydoc_id
    click_trans_id: int
    merchant_trans_id: str
    amount: str
    status: int = 1  # <0 error, 0 created, 1 processing, 2 success
    note: str = "Processing"
    prepare_answer: dict | None = None
    complete_answer: dict | None = None
    card_number: str = ""
    created_on: _dt.date = dataclasses.field(default_factory=_dt.date.today)
    reversed_at: _dt.datetime | None = None


@dataclasses.dataclass
class Invoice:
    invoice_id: int
    merchant_trans_id: str
    amount: str
    phone_number: str
    status: int = 0  # 0 waiting, 2 paid, -99 deleted
    note: str = "Waiting for payment"
    payment_id: int | None = None


class Clicker:
    """The simulator's state (in memory) and the callback sender."""

    def __init__(self, settings: Settings):
        self.s = settings
        self.lock = threading.Lock()
        # Ids keep growing across restarts so a restarted simulator never repeats a click_trans_id.
        start = int(time.time() * 1000)
        self._trans_ids = itertools.count(start)
        self._paydoc_ids = itertools.count(start)
        self._invoice_ids = itertools.count(start)
        self.payments: dict[int, Payment] = {}
        self.invoices: dict[int, Invoice] = {}
        self.http = requests.Session()

    def send(self, action: str, fields: dict[str, str]) -> dict | None:
        """POST a callback (form-encoded) until an HTTP 200 JSON answer comes; None if none ever does."""
        url = f"{self.s.callback_base}/{action}"
        delay = self.s.retry_delay
        for attempt in range(1, self.s.attempts + 1):
            try:
                resp = self.http.post(url, data=fields, timeout=self.s.timeout)
                if resp.status_code == 200:
                    body = resp.json()
                    if isinstance(body, dict) and "error" in body:
                        log.info("%s %s -> %s", action, fields["click_trans_id"], body["error"])
                        return body
                log.warning("%s attempt %d: HTTP %s; retrying", action, attempt, resp.status_code)
            except (requests.RequestException, ValueError) as exc:
                log.warning("%s attempt %d: %s; retrying", action, attempt, exc)
            time.sleep(delay)
            delay = min(delay * 2, 3.0)
        return None

    def pay(self, merchant_trans_id: str, amount: str, card_number: str) -> Payment:
        """Run one payment attempt: Prepare, debit the card, Complete."""
        with self.lock:
            payment = Payment(payment_id=next(self._paydoc_ids), click_trans_id=next(self._trans_ids),
                              merchant_trans_id=merchant_trans_id, amount=amount, card_number=card_number)
            self.payments[payment.payment_id] = payment
        fields = {"click_trans_id": str(payment.click_trans_id), "service_id": self.s.service_id,
                  "click_paydoc_id": str(payment.payment_id), "merchant_trans_id": merchant_trans_id,
                  "amount": amount, "action": "0", "error": "0", "error_note": "Success",
                  "sign_time": _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
        fields["sign_string"] = sign(fields, self.s.secret_key)
        answer = payment.prepare_answer = self.send("prepare", fields)
        if answer is None:
            payment.status, payment.note = -1, "The merchant did not answer"
            return payment
        if _int(answer.get("error")) != 0:
            payment.status, payment.note = -1, f"The merchant refused: {answer.get('error_note', '')}"
            return payment
        declined = card_number.endswith(DECLINED_SUFFIX)
        fields = {**fields, "action": "1", "merchant_prepare_id": str(answer.get("merchant_prepare_id", "")),
                  "error": str(DECLINED_ERROR) if declined else "0",
                  "error_note": "Insufficient funds" if declined else "Success",
                  "sign_time": _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
        fields["sign_string"] = sign(fields, self.s.secret_key)
        answer = payment.complete_answer = self.send("complete", fields)
        if declined:
            payment.status, payment.note = -1, "Card declined: insufficient funds"
        elif answer is None:
            payment.status, payment.note = 1, "Debited; the merchant has not confirmed yet"
        elif _int(answer.get("error")) == 0:
            payment.status, payment.note = 2, "Paid"
        else:
            payment.status, payment.note = -1, f"The merchant answered {answer.get('error')}: {answer.get('error_note')}"
        return payment

    def reverse(self, payment: Payment, today: _dt.date | None = None) -> tuple[int, str]:
        """Reverse (refund) a payment, under click.md 4.2's conditions; (error_code, error_note)."""
        today = today or _dt.date.today()
        with self.lock:
            if payment.reversed_at is not None:
                return 0, "Payment already reversed"
            if payment.status != 2:
                return REVERSAL_NOT_SUCCESSFUL, "Only a successful payment can be reversed"
            this_month = (payment.created_on.year, payment.created_on.month) == (today.year, today.month)
            last_month = (today.replace(day=1) - _dt.timedelta(days=1)).replace(day=1)
            from_last_month = (payment.created_on.year, payment.created_on.month) == (last_month.year,
                                                                                      last_month.month)
            if not (this_month or (from_last_month and today.day == 1)):
                return REVERSAL_TOO_OLD, "Only payments of the current month can be reversed"
            if payment.card_number.endswith(NO_REVERSAL_SUFFIX):
                return REVERSAL_REFUSED, "The card's bank refused the reversal"
            payment.reversed_at = _dt.datetime.now(_dt.timezone.utc)
            payment.status, payment.note = -1, "Reversed"
        log.info("payment %s (%s) reversed", payment.payment_id, payment.merchant_trans_id)
        return 0, "Success"

    def create_invoice(self, merchant_trans_id: str, amount: str, phone: str) -> Invoice:
        with self.lock:
            invoice = Invoice(invoice_id=next(self._invoice_ids), merchant_trans_id=merchant_trans_id, amount=amount,
                              phone_number=phone)
            self.invoices[invoice.invoice_id] = invoice
        log.info("invoice %s for %s sent to %s", invoice.invoice_id, merchant_trans_id, phone)
        return invoice


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _amount(raw: str) -> Decimal | None:
    try:
        value = Decimal(raw)
    except (InvalidOperation, TypeError):
        return None
    return value if value.is_finite() and value > 0 else None


def card_error(number: str, expiry: str) -> str:
    """Why a card cannot be used, or ''."""
    number = number.replace(" ", "")
    if not (number.isdigit() and len(number) == 16):
        return "The card number must have 16 digits."
    expiry = expiry.replace("/", "").strip()
    if not (expiry.isdigit() and len(expiry) == 4 and 1 <= int(expiry[:2]) <= 12):
        return "The expiry date must be MMYY."
    month, year = int(expiry[:2]), 2000 + int(expiry[2:])
    today = _dt.date.today()
    if (year, month) < (today.year, today.month):
        return "The card has expired."
    return ""


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CLICK (simulator)</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto}form{margin:1rem 0;padding:1rem;border:1px solid #ccc}
label{display:block;margin:.5rem 0}.error{color:#b00}</style></head><body>
<h1>CLICK <small>(local simulator)</small></h1>
{% if error %}<p class="error" id="error">{{ error }}</p>{% endif %}
{% if result %}
  <p id="status" data-status="{{ result.status }}" data-payment-id="{{ result.payment_id }}">{{ result.note }}</p>
  {% if return_url %}<p><a id="return" href="{{ return_url }}">Back to the shop</a></p>{% endif %}
{% elif invoice %}
  <p id="invoice" data-invoice-id="{{ invoice.invoice_id }}">Invoice {{ invoice.invoice_id }} for {{ invoice.amount }} UZS
  was sent to +{{ invoice.phone_number }}. Open it in CLICK to pay: <a href="/invoices/{{ invoice.invoice_id }}">invoice</a>.</p>
{% else %}
  <p>Payment of <b id="amount">{{ p.amount }}</b> UZS, order <code>{{ p.transaction_param }}</code>.</p>
  <form method="post" action="{{ action }}">
    {% for k, v in p.items() %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
    <h2>Bank card</h2>
    <label>Card number <input name="card_number" inputmode="numeric" maxlength="19" required></label>
    <label>Expiry (MMYY) <input name="expire_date" maxlength="5" required></label>
    <button type="submit">Pay</button>
  </form>
  {% if invoice_action %}
  <form method="post" action="{{ invoice_action }}">
    {% for k, v in p.items() %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
    <h2>Invoice to a phone</h2>
    <label>Phone (998XXXXXXXXX) <input name="phone_number" inputmode="numeric" maxlength="12" required></label>
    <button type="submit">Send invoice</button>
  </form>
  {% endif %}
{% endif %}
</body></html>"""

PAY_PARAMS = ("service_id", "merchant_id", "amount", "transaction_param", "return_url", "merchant_user_id", "card_type")


def create_app(settings: Settings) -> Flask:
    app = Flask(__name__)
    clicker = Clicker(settings)
    app.extensions["clicker"] = clicker

    def page(status=200, **ctx):
        ctx.setdefault("p", {})
        for key in ("error", "result", "invoice", "return_url", "action", "invoice_action"):
            ctx.setdefault(key, None)
        return render_template_string(PAGE, **ctx), status

    def pay_params():
        src = request.values
        p = {k: src.get(k, "") for k in PAY_PARAMS if src.get(k, "")}
        if not all(p.get(k) for k in ("service_id", "merchant_id", "amount", "transaction_param")):
            return p, "service_id, merchant_id, amount and transaction_param are required."
        if p["service_id"] != settings.service_id or p["merchant_id"] != settings.merchant_id:
            return p, "Unknown merchant or service."
        if _amount(p["amount"]) is None:
            return p, "The amount is invalid."
        return p, ""

    @app.get("/services/pay")
    def pay_page():
        p, error = pay_params()
        if error:
            return page(400, error=error)
        return page(p=p, action="/services/pay", invoice_action="/services/pay/invoice")

    @app.post("/services/pay")
    def pay_card():
        p, error = pay_params()
        if error:
            return page(400, error=error)
        number, expiry = request.form.get("card_number", ""), request.form.get("expire_date", "")
        error = card_error(number, expiry)
        if error:
            return page(422, error=error, p=p, action="/services/pay", invoice_action="/services/pay/invoice")
        payment = clicker.pay(p["transaction_param"], p["amount"], number.replace(" ", ""))
        return page(result=payment, return_url=p.get("return_url"))

    @app.post("/services/pay/invoice")
    def pay_invoice_request():
        p, error = pay_params()
        if error:
            return page(400, error=error)
        phone = request.form.get("phone_number", "").strip().lstrip("+")
        if not (phone.isdigit() and 9 <= len(phone) <= 15):
            return page(422, error="The phone number is invalid.", p=p, action="/services/pay",
                        invoice_action="/services/pay/invoice")
        return page(invoice=clicker.create_invoice(p["transaction_param"], p["amount"], phone))

    @app.route("/invoices/<int:invoice_id>", methods=["GET", "POST"])
    def invoice_page(invoice_id: int):
        invoice = clicker.invoices.get(invoice_id)
        if invoice is None:
            return page(404, error="No such invoice.")
        p = {"amount": invoice.amount, "transaction_param": invoice.merchant_trans_id}
        if invoice.status == 2:
            return page(error="This invoice is already paid.", p=p)
        if request.method == "GET":
            return page(p=p, action=f"/invoices/{invoice_id}")
        number, expiry = request.form.get("card_number", ""), request.form.get("expire_date", "")
        error = card_error(number, expiry)
        if error:
            return page(422, error=error, p=p, action=f"/invoices/{invoice_id}")
        payment = clicker.pay(invoice.merchant_trans_id, invoice.amount, number.replace(" ", ""))
        invoice.payment_id = payment.payment_id
        if payment.status == 2:
            invoice.status, invoice.note = 2, "Paid"
        return page(result=payment)

    # ---- Merchant API -------------------------------------------------------------------------
    def api_error(http_status: int, code: int, note: str):
        resp = jsonify({"error_code": code, "error_note": note})
        resp.status_code = http_status
        return resp

    @app.before_request
    def check_auth():
        if not request.path.startswith("/v2/merchant/"):
            return None
        parts = request.headers.get("Auth", "").split(":")
        if len(parts) != 3:
            return api_error(401, -401, "Not authorized")
        user, digest, ts = parts
        if not (ts.isdigit() and len(ts) == 10) or abs(int(ts) - time.time()) > 300:
            return api_error(401, -401, "Not authorized")
        if user != settings.merchant_user_id or not hmac.compare_digest(digest, api_digest(ts, settings.secret_key)):
            return api_error(401, -401, "Not authorized")
        if request.method == "POST" and request.mimetype != "application/json":
            return api_error(406, -406, "Not acceptable")
        return None

    @app.post("/v2/merchant/invoice/create")
    def api_invoice_create():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return api_error(400, -400, "Bad request")
        amount = _amount(str(body.get("amount", "")))
        phone = str(body.get("phone_number", "")).lstrip("+")
        mti = str(body.get("merchant_trans_id", "")).strip()
        if amount is None or not (phone.isdigit() and 9 <= len(phone) <= 15) or not mti:
            return api_error(400, -400, "Bad request")
        if str(body.get("service_id", "")) != settings.service_id:
            return jsonify({"error_code": -5, "error_note": "Service not found"})
        invoice = clicker.create_invoice(mti, f"{amount:.2f}", phone)
        return jsonify({"error_code": 0, "error_note": "Created", "invoice_id": invoice.invoice_id})

    @app.get("/v2/merchant/invoice/status/<service_id>/<int:invoice_id>")
    def api_invoice_status(service_id: str, invoice_id: int):
        invoice = clicker.invoices.get(invoice_id)
        if service_id != settings.service_id or invoice is None:
            return api_error(404, -404, "Not found")
        return jsonify({"error_code": 0, "error_note": "Success", "invoice_status": invoice.status,
                        "invoice_status_note": invoice.note})

    @app.get("/v2/merchant/payment/status/<service_id>/<int:payment_id>")
    def api_payment_status(service_id: str, payment_id: int):
        payment = clicker.payments.get(payment_id)
        if service_id != settings.service_id or payment is None:
            return api_error(404, -404, "Not found")
        return jsonify({"error_code": 0, "error_note": "Success", "payment_id": payment.payment_id,
                        "payment_status": payment.status})

    @app.delete("/v2/merchant/payment/reversal/<service_id>/<int:payment_id>")
    def api_payment_reversal(service_id: str, payment_id: int):
        payment = clicker.payments.get(payment_id)
        if service_id != settings.service_id or payment is None:
            return api_error(404, -404, "Not found")
        code, note = clicker.reverse(payment)
        return jsonify({"error_code": code, "error_note": note, "payment_id": payment.payment_id})

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app
