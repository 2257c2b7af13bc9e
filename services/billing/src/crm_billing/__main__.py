"""Billing processes: `python -m crm_billing [api|consumer|relay|all|migrate]`;
`python -m crm_billing dlq list|redrive` for its dead letters (`crm_platform.dlq`)."""

import pathlib

from crm.billing.v1 import billing_service_pb2_grpc as pb_grpc
from crm_platform.runtime import GrpcComponent, LoopComponent, grpc_server, relay_role, run
from crm_billing.adapters.click_api import ClickMerchantApi
from crm_billing.adapters.orm import PLATFORM
from crm_billing.config import BillingSettings
from crm_billing.entrypoints.consumer import make_consumer
from crm_billing.entrypoints.grpc_server import PUBLIC_METHODS, BillingServicer
from crm_billing.service_layer.invoice_caps import InvoiceCaps
from crm_billing.service_layer.services import TOPICS, BillingService, ClickConfig

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"


def build_service(settings: BillingSettings, db) -> BillingService:
    secret = settings.click_secret_key.get()
    click = ClickConfig(service_id=settings.click_service_id, merchant_id=settings.click_merchant_id,
                        merchant_user_id=settings.click_merchant_user_id, secret_key=secret,
                        pay_url=settings.click_pay_url, return_url=settings.public_url.rstrip("/") + "/settings/billing")
    api = ClickMerchantApi(settings.click_api_url, settings.click_service_id, settings.click_merchant_user_id, secret,
                           settings.click_api_timeout)
    return BillingService(db, price_per_seat_month_tiyin=settings.price_per_seat_month_tiyin,
                          trial_days=settings.trial_days, click=click, click_api=api,
                          invoice_caps=InvoiceCaps(settings.invoices_per_order, settings.invoices_per_phone_per_hour,
                                                   settings.invoices_per_company_per_hour))


def api(settings: BillingSettings, db):
    """The gRPC API (incl. the CLICK callbacks the gateway forwards)."""
    server = grpc_server("billing", settings, db, PLATFORM, public_methods=PUBLIC_METHODS)
    server.add(pb_grpc.add_BillingServiceServicer_to_server, BillingServicer(build_service(settings, db)),
               "crm.billing.v1.BillingService")
    return [GrpcComponent(server, db)]


def consumer(settings: BillingSettings, db):
    """Identity events: a new company starts its trial; user created/deactivated recalculates seats (F6)."""
    return [LoopComponent("consumer", make_consumer(build_service(settings, db), settings.kafka_bootstrap))]


ROLES = {"api": api, "consumer": consumer, "relay": relay_role(PLATFORM, TOPICS)}

if __name__ == "__main__":
    run("billing", BillingSettings, ROLES, MIGRATIONS)
