"""A reactivated user takes a seat again (F6 with identity's UserActivated), over real storage (SQLite and
PostgreSQL) and the real broker: counted once however often the events come, in the order identity sent them."""

from __future__ import annotations

import pathlib
import time
import uuid

import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from crm.billing.events.v1 import billing_events_pb2 as bev
from crm.identity.events.v1 import identity_events_pb2 as idev
from crm_billing.adapters.orm import OUTBOX, SeatUser, Subscription
from crm_billing.entrypoints.consumer import make_consumer
from crm_billing.service_layer.services import BillingService, ClickConfig
from crm_platform.db import Database
from crm_platform.runtime import LoopComponent
from crm_platform.topics import topic_of
from tests.support.events import publish, stamped as event

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"
DAY = 86400
USERS = topic_of(idev.UserCreated)


@pytest.fixture(scope="module")
def db(database_url):
    database = Database(database_url)
    database.migrate(MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def consumer(db, broker):
    click = ClickConfig(service_id="111", merchant_id="222", merchant_user_id="333", secret_key="test-secret",
                        pay_url="http://127.0.0.1:1/services/pay", return_url="http://127.0.0.1:1/settings/billing")
    svc = BillingService(db, price_per_seat_month_tiyin=5_000_000, trial_days=14, click=click)
    loop = make_consumer(svc, broker.bootstrap, group=f"billing-seat-test-{uuid.uuid4().hex[:6]}")
    component = LoopComponent("consumer", loop)
    component.start()
    yield loop
    component.stop()


def settled(db, company_id: str, users: int, as_of: int, timeout: float = 30) -> Subscription:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            sub = s.get(Subscription, company_id)
        if sub is not None and sub.active_users == users and sub.as_of == as_of:
            return sub
        time.sleep(0.1)
    raise AssertionError(f"billing never counted {users} users as of {as_of}")


def reasons(db, company_id: str) -> list[str]:
    with db.session() as s:
        payloads = s.execute(select(OUTBOX.c.payload).where(OUTBOX.c.company_id == company_id)
                             .order_by(OUTBOX.c.id)).scalars().all()
    return [bev.SubscriptionChanged.FromString(bytes(p)).reason for p in payloads]


def test_a_reactivated_user_takes_a_seat_again_once(db, consumer, broker):
    company = str(uuid.uuid4())
    t0 = int(time.time()) - 5000
    t1, t2, t3 = t0 + 1000, t0 + 2000, t0 + 3000
    paid_until = t0 + 7 * DAY  # the 14 days' trial over the two seats in use from t0
    admin, eve = str(uuid.uuid4()), str(uuid.uuid4())
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        publish(producer, topic_of(idev.CompanyCreated), company,
                event(idev.CompanyCreated(name="Acme", crm_id="X", admin_user_id=admin), company, t0))
        for uid in (admin, eve):  # one key per company: one partition, delivered in order
            publish(producer, USERS, company, event(idev.UserCreated(user_id=uid), company, t0))
        assert settled(db, company, 2, t0).paid_until == paid_until
        publish(producer, USERS, company, event(idev.UserDeactivated(user_id=eve), company, t1))
        one = settled(db, company, 1, t1)
        assert one.seats == 1
        # reactivated: delivered twice, and an activation of the admin who is active anyway
        back = event(idev.UserActivated(user_id=eve), company, t2)
        for msg in (back, back, event(idev.UserActivated(user_id=admin), company, t2)):
            publish(producer, USERS, company, msg)
        # a UserCreated for a user billing knows adds no seat either; the marker shows all of the above was read
        publish(producer, USERS, company, event(idev.UserCreated(user_id=eve), company, t2))
        publish(producer, USERS, company, event(idev.UserUpdated(user_id=eve, changed_fields=["active"]), company, t2))
        two = settled(db, company, 2, t2)
        # an activation of a user billing never counted (from before it listened) counts them from then on
        stranger = str(uuid.uuid4())
        publish(producer, USERS, company, event(idev.UserActivated(user_id=stranger), company, t3))
        three = settled(db, company, 3, t3)
    finally:
        producer.close()
    # two seats until t1, one until t2, two until t3, then three: the value left is spread each time
    assert two.seats == 2 and three.seats == 3
    left_at_t1 = (paid_until - t1) * 2  # seat-seconds left at t1 with two seats
    until_one = t1 + left_at_t1
    left_at_t2 = until_one - t2
    assert two.paid_until == t2 + left_at_t2 // 2
    assert reasons(db, company) == ["trial_started", "user_created", "user_created", "user_deactivated",
                                    "user_activated", "user_activated"]
    with db.session() as s:
        seats = {u.user_id: u.active for u in s.execute(select(SeatUser).where(SeatUser.company_id == company))
                 .scalars()}
    assert seats == {admin: True, eve: True, stranger: True}
