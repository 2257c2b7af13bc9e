"""Billing processes: `python -m crm_billing [api|consumer|relay|all|migrate]`."""

import pathlib

from crm.billing.v1 import billing_service_pb2_grpc as pb_grpc
from crm.identity.events.v1 import identity_events_pb2 as idev
from crm_platform.idempotency import IdempotencyStore
from crm_platform.messaging import IdempotentConsumer, Subscription
from crm_platform.outbox import OutboxRelay
from crm_platform.rpc import GrpcServer
from crm_platform.runtime import GrpcComponent, LoopComponent, run
from crm_billing.adapters.click_api import ClickMerchantApi
from crm_billing.adapters.orm import OUTBOX, PLATFORM, PROCESSED
from crm_billing.config import BillingSettings
from crm_billing.entrypoints.grpc_server import PUBLIC_METHODS, BillingServicer
from crm_billing.service_layer.services import TOPICS, BillingService, ClickConfig

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"
COMPANY_TOPIC = "crm.identity.company.v1"
USER_TOPIC = "crm.identity.user.v1"


def build_service(settings: BillingSettings, db) -> BillingService:
    secret = settings.click_secret_key.get()
    click = ClickConfig(service_id=settings.click_service_id, merchant_id=settings.click_merchant_id,
                        merchant_user_id=settings.click_merchant_user_id, secret_key=secret,
                        pay_url=settings.click_pay_url, return_url=settings.public_url.rstrip("/") + "/settings/billing")
    api = ClickMerchantApi(settings.click_api_url, settings.click_service_id, settings.click_merchant_user_id, secret,
                           settings.click_api_timeout)
    return BillingService(db, price_per_seat_month_tiyin=settings.price_per_seat_month_tiyin,
                          trial_days=settings.trial_days, click=click, click_api=api)


def api(settings: BillingSettings, db):
    """The gRPC API (incl. the CLICK callbacks the gateway forwards)."""
    server = GrpcServer(settings.grpc_bind, settings.verifier(), public_methods=PUBLIC_METHODS,
                        max_workers=settings.grpc_workers,
                        idempotency=IdempotencyStore(db, PLATFORM["idempotency_keys"]))  # Idempotency-Key on orders
    server.add(pb_grpc.add_BillingServiceServicer_to_server, BillingServicer(build_service(settings, db)),
               "crm.billing.v1.BillingService")
    return [GrpcComponent(server, db)]


def consumer(settings: BillingSettings, db):
    """Identity events: a new company starts its trial; user created/deactivated recalculates seats (F6)."""
    svc = build_service(settings, db)
    subs = [Subscription(COMPANY_TOPIC, idev.CompanyCreated, svc.on_company_created),
            Subscription(USER_TOPIC, idev.UserCreated, svc.on_user_created),
            Subscription(USER_TOPIC, idev.UserDeactivated, svc.on_user_deactivated)]
    return [LoopComponent("consumer", IdempotentConsumer(db, PROCESSED, settings.kafka_bootstrap, "billing",
                                                         subs))]


def relay(settings: BillingSettings, db):
    """The outbox relay."""
    return [LoopComponent("relay", OutboxRelay(db, OUTBOX, settings.kafka_bootstrap, TOPICS))]


ROLES = {"api": api, "consumer": consumer, "relay": relay}

if __name__ == "__main__":
    run("billing", BillingSettings, ROLES, MIGRATIONS)
