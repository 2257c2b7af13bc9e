"""Billing's consumer: identity's events move a company's subscription (F6).

A new company starts its trial; a user created, deactivated or reactivated recalculates the seats in use. The
topics are the ones the events' contracts name.
"""

from __future__ import annotations

from crm.identity.events.v1 import identity_events_pb2 as idev
from crm_platform.messaging import IdempotentConsumer, Subscription
from crm_billing.adapters.orm import PROCESSED
from crm_billing.service_layer.services import BillingService

CONSUMER_GROUP = "billing"


def subscriptions(svc: BillingService) -> list[Subscription]:
    """Event type -> handler, in one place."""
    return [Subscription(idev.CompanyCreated, svc.on_company_created),
            Subscription(idev.UserCreated, svc.on_user_created),
            Subscription(idev.UserDeactivated, svc.on_user_deactivated),
            Subscription(idev.UserActivated, svc.on_user_activated)]


def make_consumer(svc: BillingService, bootstrap: str, group: str = CONSUMER_GROUP) -> IdempotentConsumer:
    return IdempotentConsumer(svc.db, PROCESSED, bootstrap, group, subscriptions(svc))
