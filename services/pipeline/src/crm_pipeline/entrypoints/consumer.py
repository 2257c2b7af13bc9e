"""Pipeline's Kafka consumer: the events it reacts to, in one table."""

from __future__ import annotations

from crm.identity.events.v1 import identity_events_pb2 as identity_ev
from crm_platform.messaging import IdempotentConsumer, Subscription
from crm_pipeline.adapters.orm import PROCESSED_EVENTS

CONSUMER_NAME = "pipeline.company-setup"


def subscriptions(service) -> list[Subscription]:
    """Event type -> handler: a new company gets its default funnels (F8)."""

    def on_company_created(session, message) -> None:
        service.seed_company(session, message.metadata.company_id, actor=message.metadata.actor_id or "system",
                             language=message.language)

    return [Subscription(identity_ev.CompanyCreated, on_company_created)]


def make_consumer(db, bootstrap: str, service) -> IdempotentConsumer:
    """The idempotent consumer of pipeline's subscriptions."""
    return IdempotentConsumer(db, PROCESSED_EVENTS, bootstrap, CONSUMER_NAME, subscriptions(service))
