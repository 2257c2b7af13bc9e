"""Billing against real storage (SQLite and PostgreSQL) and the real broker: F6 from identity events
delivered twice, and CLICK callbacks racing each other."""

from __future__ import annotations

import concurrent.futures
import pathlib
import threading
import time
import uuid

import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from crm.identity.events.v1 import identity_events_pb2 as idev
from crm_billing.entrypoints.consumer import make_consumer
from crm_billing.adapters.orm import OUTBOX, PROCESSED, Order, Subscription
from crm_billing.domain import model
from crm_billing.service_layer.services import BillingService, ClickConfig
from crm_platform.context import Principal
from crm_platform.db import Database
from crm_platform.runtime import LoopComponent
from crm_platform.topics import topic_of
from tests.support.events import publish, stamped as event

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"
SECRET = "test-secret"
DAY = 86400


@pytest.fixture(scope="module")
def db(database_url):
    database = Database(database_url)
    database.migrate(MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def svc(db) -> BillingService:
    click = ClickConfig(service_id="111", merchant_id="222", merchant_user_id="333", secret_key=SECRET,
                        pay_url="http://127.0.0.1:1/services/pay", return_url="http://127.0.0.1:1/settings/billing")
    return BillingService(db, price_per_seat_month_tiyin=5_000_000, trial_days=14, click=click)


@pytest.fixture(scope="module")
def consumer(db, svc, broker):
    loop = make_consumer(svc, broker.bootstrap, group=f"billing-test-{uuid.uuid4().hex[:6]}")
    component = LoopComponent("consumer", loop)
    component.start()
    yield loop
    component.stop()


def subscription(db, company_id: str) -> Subscription | None:
    with db.session() as s:
        return s.get(Subscription, company_id)


def wait_until(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError("condition not met")


def test_f6_events_delivered_twice_recalculate_exactly_once(db, consumer, broker):
    company = str(uuid.uuid4())
    t0 = int(time.time()) - 5000
    t1, t2 = t0 + 1001, t0 + 1502
    paid_until = t0 + 14 * DAY
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        created = event(idev.CompanyCreated(name="Acme", crm_id="X", admin_user_id="u1"), company, t0)
        u1 = event(idev.UserCreated(user_id=str(uuid.uuid4())), company, t0)
        u2_id = str(uuid.uuid4())
        u2 = event(idev.UserCreated(user_id=u2_id), company, t1)
        gone = event(idev.UserDeactivated(user_id=u2_id), company, t2)
        for _ in range(2):  # every event twice, as a redelivery would
            publish(producer, topic_of(idev.CompanyCreated), company, created)
        wait_until(lambda: subscription(db, company))
        for msg in (u1, u1, u2, u2):
            publish(producer, topic_of(idev.UserCreated), company, msg)  # one key: one partition, delivered in order
        sub = wait_until(lambda: (lambda s: s if s and s.active_users == 2 else None)(subscription(db, company)))
        # one more seat: the value left at t1, (paid_until - t1) seat-seconds, over 2 seats
        seconds, remainder = divmod(paid_until - t1, 2)
        assert (sub.seats, sub.paid_until, sub.remainder) == (2, t1 + seconds, remainder)
        assert remainder == 1  # the odd seat-second is kept, not lost
        publish(producer, topic_of(idev.UserCreated), company, gone)
        publish(producer, topic_of(idev.UserCreated), company, gone)
        marker = event(idev.UserCreated(user_id=str(uuid.uuid4())), company, t2)
        publish(producer, topic_of(idev.UserCreated), company, marker)  # after both copies in the same partition
        sub = wait_until(lambda: (lambda s: s if s and s.active_users == 2 and s.as_of == t2 else None)(
            subscription(db, company)))
    finally:
        producer.close()
    # between t1 and t2 two seats used the value twice as fast; then one seat, then two again
    one_seat_until = paid_until - (t2 - t1)
    seconds, remainder = divmod(one_seat_until - t2, 2)
    assert (sub.seats, sub.paid_until, sub.remainder) == (2, t2 + seconds, remainder)
    with db.session() as s:
        reasons = s.execute(select(OUTBOX.c.event_type).where(OUTBOX.c.company_id == company)).scalars().all()
        applied = s.execute(select(PROCESSED.c.event_id).where(PROCESSED.c.event_id.in_(
            [created.metadata.event_id, u1.metadata.event_id, u2.metadata.event_id, gone.metadata.event_id]))).all()
    assert len(applied) == 4
    # trial started, u1, u2, u2 gone, marker: one SubscriptionChanged each, none for the copies
    assert reasons == ["crm.billing.events.v1.SubscriptionChanged"] * 5


def _fields(action: int, order: Order, ctid: str, prepare_id: str = "", error: str = "0") -> dict:
    f = {"click_trans_id": ctid, "service_id": "111", "click_paydoc_id": ctid, "merchant_trans_id": order.id,
         "amount": model.format_uzs(order.amount_tiyin), "action": str(action), "error": error,
         "error_note": "", "sign_time": "2026-11-26 10:00:00"}
    if action == 1:
        f["merchant_prepare_id"] = prepare_id
        f["sign_string"] = model.complete_sign(f, SECRET)
    else:
        f["sign_string"] = model.prepare_sign(f, SECRET)
    return f


def test_racing_duplicate_callbacks_pay_once(db, svc):
    company = str(uuid.uuid4())
    admin = Principal(company_id=company, user_id=str(uuid.uuid4()), permissions=frozenset({"admin"}))
    order = svc.create_order(admin, seats=2, months=3)
    with db.session(write=True) as s:  # the company's subscription as the consumer would have made it
        svc._lock_subscription(s, company, int(time.time()))
    start = subscription(db, company).paid_until
    ctid = str(int(time.time() * 1000))
    barrier = threading.Barrier(8)

    def race(fn, fields):
        barrier.wait()
        return fn(fields)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        prepared = list(pool.map(lambda _: race(svc.click_prepare, _fields(0, order, ctid)), range(8)))
    assert {a["error"] for a in prepared} == {0}
    assert len({a["merchant_prepare_id"] for a in prepared}) == 1
    prepare_id = str(prepared[0]["merchant_prepare_id"])
    barrier.reset()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda _: race(svc.click_complete, _fields(1, order, ctid, prepare_id)), range(8)))
    assert sorted(a["error"] for a in done) == [-4] * 7 + [0]
    sub = subscription(db, company)
    # 2 seats x 3 months bought, spread over the 1 seat of a company with no users yet
    assert sub.paid_until == start + 2 * 3 * model.MONTH_SECONDS and sub.plan == "paid" and sub.seats_paid == 2
    with db.session() as s:
        assert s.get(Order, order.id).status == "paid"
        events = s.execute(select(OUTBOX.c.event_type).where(OUTBOX.c.company_id == company,
                                                             OUTBOX.c.event_type.like("%PaymentCompleted"))).all()
    assert len(events) == 1


def test_a_cancel_racing_a_confirm_leaves_one_outcome(db, svc):
    company = str(uuid.uuid4())
    admin = Principal(company_id=company, user_id=str(uuid.uuid4()), permissions=frozenset({"manage_billing"}))
    order = svc.create_order(admin, seats=1, months=1)
    ctid = str(int(time.time() * 1000) + 1)
    prepare_id = str(svc.click_prepare(_fields(0, order, ctid))["merchant_prepare_id"])
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        ok = pool.submit(svc.click_complete, _fields(1, order, ctid, prepare_id))
        cancel = pool.submit(svc.click_complete, _fields(1, order, ctid, prepare_id, error="-5017"))
        answers = {ok.result()["error"], cancel.result()["error"]}
    with db.session() as s:
        status = s.get(Order, order.id).status
    # whichever came first wins; the other sees a finished attempt
    assert (answers, status) in (({0, -4}, "paid"), ({-9}, "cancelled"))
