"""Billing end to end through the gateway and the CLICK simulator: plan state, F6, orders, the
SHOP-API callbacks (the 15 conformance scenarios of click.md 2.9), duplicates, tampering, the
payment page, invoices, and 402 once the prepaid period has ended."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import html
import random
import re
import threading
import time
import urllib.parse

import pytest
import requests

from crm.billing.events.v1 import billing_events_pb2 as bev
from tests.support.events import collect
from tests.support.infra import wait_for, wait_port
from tests.support.system import Api, sign_up, start_system, unique_email

pytestmark = pytest.mark.e2e

MONTH = 30 * 86400


# ---- helpers --------------------------------------------------------------------------------
def ts(value: str) -> int:
    return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def billing(admin: Api) -> dict:
    resp = admin.get("/api/v1/billing")
    assert resp.status_code == 200, resp.text
    return resp.json()


def settled(admin: Api, users: int) -> dict:
    """The plan state once billing has counted `users` active users (it learns them from events)."""
    return wait_for(lambda: (lambda b: b if b["active_users"] == users else None)(billing(admin)), timeout=30,
                    message=f"billing to count {users} users")


def create_user(admin: Api) -> str:
    roles = admin.get("/api/v1/roles").json()["items"]
    group = admin.get("/api/v1/groups").json()["items"][0]["id"]
    role = next(r["id"] for r in roles if not r["permissions"]["admin"])
    email = unique_email()
    resp = admin.post("/api/v1/users", json={"first_name": "Eve", "last_name": "Ent", "email": email,
                                             "password": "pass-1234", "role_id": role, "group_id": group})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def order(admin: Api, seats: int = 1, months: int = 1) -> dict:
    resp = admin.post("/api/v1/billing/orders", json={"seats": seats, "months": months})
    assert resp.status_code == 201, resp.text
    return resp.json()


def get_order(admin: Api, order_id: str) -> dict:
    resp = admin.get(f"/api/v1/billing/orders/{order_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Click:
    """Plays CLICK against the real callback endpoints (signing as click.md section 0 says)."""

    def __init__(self, system):
        self.env = system.env
        self.base = system.gateway_url() + "/api/v1/payments/click"
        self.secret = system.env["CLICK_SECRET_KEY"]
        self.service_id = system.env["CLICK_SERVICE_ID"]

    @staticmethod
    def new_id() -> str:
        return str(random.randint(10**11, 10**13))

    def fields(self, action: int, merchant_trans_id: str, amount: str, click_trans_id: str,
               prepare_id: str = "", error: str = "0", sign_amount: str | None = None,
               secret: str | None = None) -> dict:
        f = {"click_trans_id": click_trans_id, "service_id": self.service_id, "click_paydoc_id": self.new_id(),
             "merchant_trans_id": merchant_trans_id, "amount": amount, "action": str(action), "error": error,
             "error_note": "Success" if error == "0" else "Insufficient funds", "sign_time": "2026-11-26 12:00:00"}
        if action == 1:
            f["merchant_prepare_id"] = prepare_id
        signed_amount = amount if sign_amount is None else sign_amount
        f["sign_string"] = md5(click_trans_id + self.service_id + (secret or self.secret) + merchant_trans_id
                               + (prepare_id if action == 1 else "") + signed_amount + str(action) + f["sign_time"])
        return f

    def post(self, action: str, fields: dict) -> dict:
        resp = requests.post(f"{self.base}/{action}", data=fields, timeout=15)
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("application/json")
        return resp.json()

    def prepare(self, mti: str, amount: str, ctid: str, **kw) -> dict:
        return self.post("prepare", self.fields(0, mti, amount, ctid, **kw))

    def complete(self, mti: str, amount: str, ctid: str, prepare_id, **kw) -> dict:
        return self.post("complete", self.fields(1, mti, amount, ctid, str(prepare_id), **kw))


@pytest.fixture(scope="module")
def click(system) -> Click:
    wait_port(int(system.env["CLICK_SIMULATOR_PORT"]))
    return Click(system)


@pytest.fixture()
def company(api):
    a = sign_up(api)
    settled(a["api"], 1)
    return a


# ---- plan state and F6 ----------------------------------------------------------------------
def test_new_company_gets_a_trial_with_a_preview_of_one_more_user(company):
    b = billing(company["api"])
    now = time.time()
    assert b["plan"] == "trial" and not b["expired"]
    assert b["price_per_seat_month"] == "50000.00" and b["price_per_seat_month_tiyin"] == 5_000_000
    assert b["seats"] == 1 and b["active_users"] == 1 and b["seats_paid"] == 0
    assert abs(ts(b["paid_until"]) - (now + 14 * 86400)) < 120
    # one more user: the remaining value R (seat-seconds) over 2 seats lasts R/2 seconds
    preview = ts(b["preview"]["paid_until_with_one_more_user"])
    assert abs((preview - now) - (ts(b["paid_until"]) - now) / 2) < 5


def test_f6_user_created_moves_paid_until_earlier_and_deactivation_moves_it_back(company):
    admin = company["api"]
    before = billing(admin)
    user_id = create_user(admin)
    after = settled(admin, 2)
    assert after["seats"] == 2
    assert ts(after["paid_until"]) < ts(before["paid_until"])
    # what the preview promised, within the seconds between the preview and the event
    assert abs(ts(after["paid_until"]) - ts(before["preview"]["paid_until_with_one_more_user"])) <= 5
    assert admin.delete(f"/api/v1/users/{user_id}").status_code in (200, 204)
    back = settled(admin, 1)
    assert back["seats"] == 1
    assert abs(ts(back["paid_until"]) - ts(before["paid_until"])) <= 5


# ---- orders ----------------------------------------------------------------------------------
def test_order_amount_is_computed_by_the_server_with_the_click_payment_url(company, system):
    o = order(company["api"], seats=3, months=2)
    assert o["amount"] == "300000.00" and o["amount_tiyin"] == 30_000_000 and o["status"] == "pending"
    url = urllib.parse.urlparse(o["payment_url"])
    assert o["payment_url"].startswith(system.env["CLICK_PAY_URL"] + "?")
    q = dict(urllib.parse.parse_qsl(url.query))
    assert q["service_id"] == system.env["CLICK_SERVICE_ID"] and q["merchant_id"] == system.env["CLICK_MERCHANT_ID"]
    assert q["amount"] == "300000.00" and q["transaction_param"] == o["id"]
    assert q["return_url"].startswith(system.env["PUBLIC_URL"])
    # a retried order with the same Idempotency-Key gets the same order back
    key = {"Idempotency-Key": f"order-{time.time_ns()}"}
    first = company["api"].post("/api/v1/billing/orders", json={"seats": 1, "months": 1}, headers=key)
    again = company["api"].post("/api/v1/billing/orders", json={"seats": 1, "months": 1}, headers=key)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]


def test_order_validation_and_rights(company, api):
    admin = company["api"]
    resp = admin.post("/api/v1/billing/orders", json={"seats": 0, "months": 37})
    assert resp.status_code == 422
    assert {f["field"] for f in resp.json()["error"]["details"]["fields"]} == {"seats", "months"}
    roles = admin.get("/api/v1/roles").json()["items"]
    group = admin.get("/api/v1/groups").json()["items"][0]["id"]
    role = next(r["id"] for r in roles if not r["permissions"]["admin"])
    email = unique_email()
    admin.post("/api/v1/users", json={"first_name": "Mo", "last_name": "Ma", "email": email, "password": "pass-1234",
                                      "role_id": role, "group_id": group})
    token = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()["access_token"]
    manager = api.as_user(token)
    assert manager.get("/api/v1/billing").status_code == 200
    resp = manager.post("/api/v1/billing/orders", json={"seats": 1, "months": 1})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    assert api.post("/api/v1/billing/orders", json={"seats": 1, "months": 1}).status_code == 401


def test_orders_of_another_company_are_not_found(company, api):
    o = order(company["api"])
    other = sign_up(api)
    assert other["api"].get(f"/api/v1/billing/orders/{o['id']}").status_code == 404


# ---- the SHOP-API conformance scenarios (click.md 2.9) ----------------------------------------
def test_the_15_click_scenarios(company, click):
    """Each block of scenarios pays a fresh order: a paid order cannot be prepared again (-4)."""
    admin = company["api"]
    o1 = order(admin)
    amount = o1["amount"]
    t1 = click.new_id()
    paid_until = ts(billing(admin)["paid_until"])
    # 1. Prepare, bad signature
    assert click.prepare(o1["id"], amount, t1, secret="wrong")["error"] == -1
    # 2. Prepare, unknown order
    assert click.prepare("no-such-order", amount, t1)["error"] == -5
    # 3. Prepare OK
    r = click.prepare(o1["id"], amount, t1)
    assert r["error"] == 0 and r["error_note"] == "Success" and r["merchant_prepare_id"]
    assert r["click_trans_id"] == int(t1) and r["merchant_trans_id"] == o1["id"]
    prep1 = r["merchant_prepare_id"]
    # 4. Complete, bad signature
    assert click.complete(o1["id"], amount, t1, prep1, secret="wrong")["error"] == -1
    # 5. Complete, wrong amount (signed)
    assert click.complete(o1["id"], "300", t1, prep1)["error"] == -2
    assert get_order(admin, o1["id"])["status"] == "pending"
    # 6. Complete OK
    r = click.complete(o1["id"], amount, t1, prep1)
    assert r["error"] == 0 and r["merchant_confirm_id"]
    assert get_order(admin, o1["id"])["status"] == "paid"
    after = billing(admin)
    assert after["plan"] == "paid" and ts(after["paid_until"]) == paid_until + MONTH  # 1 seat, 1 month, exact
    # 7. The same Complete again
    assert click.complete(o1["id"], amount, t1, prep1)["error"] == -4
    # 8. Cancel of the confirmed payment: -4 (project decision) and nothing changes
    assert click.complete(o1["id"], amount, t1, prep1, error="-5017")["error"] == -4
    assert get_order(admin, o1["id"])["status"] == "paid"
    assert billing(admin)["paid_until"] == after["paid_until"]
    # 9. A fresh Prepare
    o2 = order(admin)
    t2 = click.new_id()
    r = click.prepare(o2["id"], amount, t2)
    assert r["error"] == 0
    # 10. Complete with an unknown merchant_prepare_id
    assert click.complete(o2["id"], amount, t2, 999999999)["error"] == -6
    # 11. Complete OK
    assert click.complete(o2["id"], amount, t2, r["merchant_prepare_id"])["error"] == 0
    assert ts(billing(admin)["paid_until"]) == paid_until + 2 * MONTH
    # 12. A fresh Prepare
    o3 = order(admin)
    t3 = click.new_id()
    r = click.prepare(o3["id"], amount, t3)
    assert r["error"] == 0
    prep3 = r["merchant_prepare_id"]
    # 13. Complete with error=-5017 (the debit failed): cancelled
    assert click.complete(o3["id"], amount, t3, prep3, error="-5017")["error"] == -9
    assert get_order(admin, o3["id"])["status"] == "cancelled"
    # 14. The same cancel again
    assert click.complete(o3["id"], amount, t3, prep3, error="-5017")["error"] == -9
    # 15. Complete with error=0 after the cancellation
    assert click.complete(o3["id"], amount, t3, prep3)["error"] == -9
    assert get_order(admin, o3["id"])["status"] == "cancelled"
    assert ts(billing(admin)["paid_until"]) == paid_until + 2 * MONTH


def test_malformed_callbacks_get_minus_8_or_minus_3(company, click):
    o = order(company["api"])
    t = click.new_id()
    fields = click.fields(0, o["id"], o["amount"], t)
    del fields["sign_time"]
    assert click.post("prepare", fields)["error"] == -8
    assert click.post("complete", click.fields(0, o["id"], o["amount"], t))["error"] == -3  # action 0 to Complete
    assert click.post("prepare", click.fields(1, o["id"], o["amount"], t, "1"))["error"] == -3
    resp = requests.post(click.base + "/prepare", data={}, timeout=10)
    assert resp.status_code == 200 and resp.json()["error"] == -8
    assert get_order(company["api"], o["id"])["status"] == "pending"


def test_tampered_amount_or_signature_changes_nothing(company, click):
    admin = company["api"]
    o = order(admin, seats=2, months=1)  # 100000.00
    before = billing(admin)
    t = click.new_id()
    # the amount changed in transit (signature over the original): -1
    assert click.prepare(o["id"], "1.00", t, sign_amount=o["amount"])["error"] == -1
    # a correctly signed but wrong amount: -2
    assert click.prepare(o["id"], "1.00", t)["error"] == -2
    # a prepared attempt: tampered Complete amounts and signatures do not pay the order
    prep = click.prepare(o["id"], o["amount"], t)["merchant_prepare_id"]
    assert click.complete(o["id"], "1.00", t, prep, sign_amount=o["amount"])["error"] == -1
    assert click.complete(o["id"], "1.00", t, prep)["error"] == -2
    assert click.complete(o["id"], o["amount"], t, prep, secret="guess")["error"] == -1
    forged = click.fields(1, o["id"], o["amount"], t, str(prep))
    forged["sign_string"] = "0" * 32
    assert click.post("complete", forged)["error"] == -1
    assert get_order(admin, o["id"])["status"] == "pending"
    assert billing(admin) == before
    # numerically equal amounts are accepted, hashed as received
    assert click.complete(o["id"], o["amount"].replace(".00", ""), t, prep)["error"] == 0
    assert get_order(admin, o["id"])["status"] == "paid"


def test_concurrent_duplicate_callbacks_apply_once(company, click):
    admin = company["api"]
    o = order(admin)
    start = ts(billing(admin)["paid_until"])
    t = click.new_id()
    prepare = click.fields(0, o["id"], o["amount"], t)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: click.post("prepare", prepare), range(8)))
    assert {a["error"] for a in answers} == {0}
    assert len({a["merchant_prepare_id"] for a in answers}) == 1  # one attempt, one id
    complete = click.fields(1, o["id"], o["amount"], t, str(answers[0]["merchant_prepare_id"]))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: click.post("complete", complete), range(8)))
    assert sorted(a["error"] for a in answers) == [-4] * 7 + [0]
    assert ts(billing(admin)["paid_until"]) == start + MONTH  # extended exactly once
    time.sleep(2)  # let the relay publish whatever the duplicates might have produced
    events = collect(click.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.billing.subscription.v1", bev.PaymentCompleted,
                     lambda m: m.order_id == o["id"])
    assert len(events) == 1
    msg = events[0][1]
    assert msg.amount_tiyin == 5_000_000 and msg.click_trans_id == t and msg.metadata.company_id == company["company"]["id"]


# ---- the simulator: payment page, invoices, Merchant API ------------------------------------
def form_fields(page: str) -> dict[str, str]:
    first_form = page.split("</form>")[0]
    return {html.unescape(n): html.unescape(v) for n, v in
            re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', first_form)}


def pay_by_card(payment_url: str, card: str = "8600123412341234", expiry: str = "1230") -> str:
    page = requests.get(payment_url, timeout=10)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    base = "{0.scheme}://{0.netloc}".format(urllib.parse.urlparse(payment_url))
    data = {**form_fields(page.text), "card_number": card, "expire_date": expiry}
    result = requests.post(base + action, data=data, timeout=90)
    assert result.status_code == 200, result.text
    return result.text


def status_of(page: str) -> str:
    return re.search(r'id="status" data-status="([^"]+)"', page).group(1)


def merchant_api(system, path: str, auth: str | None = None) -> requests.Response:
    if auth is None:
        stamp = str(int(time.time()))
        digest = hashlib.sha1((stamp + system.env["CLICK_SECRET_KEY"]).encode()).hexdigest()
        auth = f"{system.env['CLICK_MERCHANT_USER_ID']}:{digest}:{stamp}"
    base = system.env["CLICK_API_URL"]
    return requests.get(f"{base}/{path}", headers={"Auth": auth, "Accept": "application/json"}, timeout=10)


def test_whole_flow_order_to_paid_through_the_simulator_page(company, system, click):
    admin = company["api"]
    start = ts(billing(admin)["paid_until"])
    o = order(admin, seats=1, months=3)
    page = pay_by_card(o["payment_url"])
    assert status_of(page) == "2", page
    assert get_order(admin, o["id"])["status"] == "paid"
    b = billing(admin)
    assert b["plan"] == "paid" and b["seats_paid"] == 1
    assert ts(b["paid_until"]) == start + 3 * MONTH
    payment_id = re.search(r'data-payment-id="(\d+)"', page).group(1)
    status = merchant_api(system, f"payment/status/{system.env['CLICK_SERVICE_ID']}/{payment_id}")
    assert status.status_code == 200 and status.json()["payment_status"] == 2
    assert merchant_api(system, f"payment/status/{system.env['CLICK_SERVICE_ID']}/{payment_id}",
                        auth="777:bad:123").status_code == 401
    # paying the same order again is refused by billing (-4) and shows as failed
    assert status_of(pay_by_card(o["payment_url"])) == "-1"
    assert ts(billing(admin)["paid_until"]) == start + 3 * MONTH


def test_declined_card_cancels_the_order(company):
    admin = company["api"]
    before = billing(admin)
    o = order(admin)
    page = pay_by_card(o["payment_url"], card="8600123412340002")
    assert status_of(page) == "-1"
    assert get_order(admin, o["id"])["status"] == "cancelled"
    assert billing(admin)["paid_until"] == before["paid_until"]


def test_simulator_page_refuses_a_bad_card_and_an_unknown_merchant(company, system):
    o = order(company["api"])
    page = requests.get(o["payment_url"], timeout=10)
    data = {**form_fields(page.text), "card_number": "1234", "expire_date": "1230"}
    resp = requests.post(o["payment_url"].split("?")[0], data=data, timeout=10)
    assert resp.status_code == 422 and "16 digits" in resp.text
    bad = o["payment_url"].replace(f"merchant_id={system.env['CLICK_MERCHANT_ID']}", "merchant_id=1")
    assert requests.get(bad, timeout=10).status_code == 400
    assert get_order(company["api"], o["id"])["status"] == "pending"


def test_invoice_to_a_phone_then_paid_in_click(company, system):
    admin = company["api"]
    o = order(admin, seats=1, months=1)
    bad = admin.post(f"/api/v1/billing/orders/{o['id']}/invoice", json={"phone": {"country": "UZ",
                                                                                  "number": "90123456"}})
    assert bad.status_code == 422
    field = bad.json()["error"]["details"]["fields"][0]
    assert field["field"] == "phone.number" and field["code"] == "phone_length"
    bad = admin.post(f"/api/v1/billing/orders/{o['id']}/invoice", json={"phone": {"country": "UZ",
                                                                                  "number": "90 123 456"}})
    assert bad.status_code == 422
    resp = admin.post(f"/api/v1/billing/orders/{o['id']}/invoice",
                      json={"phone": {"country": "UZ", "number": "901234567"}})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["phone_number"] == "998901234567" and body["order"]["invoice_id"]
    invoice_id = body["order"]["invoice_id"]
    status = merchant_api(system, f"invoice/status/{system.env['CLICK_SERVICE_ID']}/{invoice_id}")
    assert status.status_code == 200 and status.json()["invoice_status"] == 0
    # the phone's owner opens the invoice in CLICK and pays it by card
    click_base = system.env["CLICK_PAY_URL"].rsplit("/services/", 1)[0]
    page = requests.post(f"{click_base}/invoices/{invoice_id}", data={"card_number": "8600123412341234",
                                                                      "expire_date": "1230"}, timeout=90)
    assert page.status_code == 200 and status_of(page.text) == "2", page.text
    assert get_order(admin, o["id"])["status"] == "paid"
    status = merchant_api(system, f"invoice/status/{system.env['CLICK_SERVICE_ID']}/{invoice_id}")
    assert status.json()["invoice_status"] == 2
    again = admin.post(f"/api/v1/billing/orders/{o['id']}/invoice",
                       json={"phone": {"country": "UZ", "number": "901234567"}})
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_payable"


# ---- 402 once the prepaid period has ended (a system with no trial) ----------------------------
@pytest.fixture(scope="module")
def expired_system(tmp_path_factory):
    s = start_system(tmp_path_factory.mktemp("no-trial"), extra_env={"BILLING_TRIAL_DAYS": "0"})
    wait_port(int(s.env["CLICK_SIMULATOR_PORT"]))
    yield s
    s.stop_all()


def test_writes_answer_402_after_expiry_until_paid_and_callbacks_are_retried(expired_system):
    api = Api(expired_system.gateway_url())
    a = sign_up(api)
    admin = a["api"]
    b = settled(admin, 1)
    assert b["expired"] is True
    resp = admin.post("/api/v1/groups", json={"name": "Sales"})
    assert resp.status_code == 402, resp.text
    err = resp.json()["error"]
    assert err["code"] == "payment_required" and err["message"]
    assert Api(expired_system.gateway_url(), a["tokens"]["access_token"], "ru").post(
        "/api/v1/groups", json={"name": "Sales"}).json()["error"]["message"] != err["message"]
    assert admin.get("/api/v1/groups").status_code == 200  # reads keep working
    assert admin.get("/api/v1/me").status_code == 200
    login = api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": a["password"]})
    assert login.status_code == 200
    o = order(admin)  # billing keeps working
    # CLICK's callbacks get no answer while billing is down; the simulator retries until it does
    expired_system.stop("billing")
    result: dict = {}
    payer = threading.Thread(target=lambda: result.setdefault("page", pay_by_card(o["payment_url"])))
    payer.start()
    time.sleep(2)
    expired_system.start("billing")
    payer.join(120)
    assert status_of(result["page"]) == "2", result.get("page")
    assert get_order(admin, o["id"])["status"] == "paid"
    assert billing(admin)["expired"] is False
    created = wait_for(lambda: (lambda r: r if r.status_code == 201 else None)(
        admin.post("/api/v1/groups", json={"name": f"Sales {time.time_ns()}"})), timeout=15, message="writes again")
    assert created.status_code == 201


def test_simulator_merchant_api_checks_the_auth_header_and_the_request(system, click):
    base = system.env["CLICK_API_URL"]
    sid = system.env["CLICK_SERVICE_ID"]
    secret = system.env["CLICK_SECRET_KEY"]
    user = system.env["CLICK_MERCHANT_USER_ID"]

    def auth(stamp: int, key: str = secret, who: str = user) -> str:
        return f"{who}:{hashlib.sha1((str(stamp) + key).encode()).hexdigest()}:{stamp}"

    now = int(time.time())
    body = {"service_id": int(sid), "amount": 1000.0, "phone_number": "998901234567", "merchant_trans_id": "x-1"}
    for bad in (auth(now, key="wrong"), auth(now, who="1"), auth(now - 3600), "garbage", ""):
        resp = requests.post(f"{base}/invoice/create", json=body, headers={"Auth": bad}, timeout=10)
        assert resp.status_code == 401, bad
    ok = {"Auth": auth(now), "Accept": "application/json"}
    resp = requests.post(f"{base}/invoice/create", data="x", headers={**ok, "Content-Type": "text/plain"}, timeout=10)
    assert resp.status_code == 406
    resp = requests.post(f"{base}/invoice/create", json={**body, "phone_number": "12"}, headers=ok, timeout=10)
    assert resp.status_code == 400
    resp = requests.post(f"{base}/invoice/create", json={**body, "service_id": 1}, headers=ok, timeout=10)
    assert resp.status_code == 200 and resp.json()["error_code"] != 0
    resp = requests.post(f"{base}/invoice/create", json=body, headers=ok, timeout=10)
    assert resp.status_code == 200 and resp.json()["error_code"] == 0 and resp.json()["invoice_id"]
    assert requests.get(f"{base}/invoice/status/{sid}/1", headers=ok, timeout=10).status_code == 404


def test_invoice_asked_for_on_the_payment_page_is_paid_in_click(company, system):
    admin = company["api"]
    o = order(admin, seats=2, months=1)
    page = requests.get(o["payment_url"], timeout=10)
    base = o["payment_url"].split("/services/")[0]
    invoice_form = page.text.split("</form>")[1]
    hidden = {html.unescape(n): html.unescape(v) for n, v in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', invoice_form)}
    assert hidden["transaction_param"] == o["id"]
    bad = requests.post(f"{base}/services/pay/invoice", data={**hidden, "phone_number": "12"}, timeout=10)
    assert bad.status_code == 422
    sent = requests.post(f"{base}/services/pay/invoice", data={**hidden, "phone_number": "998901234567"}, timeout=10)
    assert sent.status_code == 200
    invoice_id = re.search(r'data-invoice-id="(\d+)"', sent.text).group(1)
    assert get_order(admin, o["id"])["status"] == "pending"
    paid = requests.post(f"{base}/invoices/{invoice_id}", data={"card_number": "8600 1234 1234 1234",
                                                                "expire_date": "12/30"}, timeout=90)
    assert status_of(paid.text) == "2", paid.text
    assert get_order(admin, o["id"])["status"] == "paid"
    assert requests.get(f"{base}/invoices/{invoice_id}", timeout=10).text.count("already paid") == 1
