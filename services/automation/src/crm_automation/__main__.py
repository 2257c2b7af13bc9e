"""Automation processes: `python -m crm_automation [api|consumer|relay|all|migrate]`.

The consumer runs the business processes; several replicas share the record topics' partitions
in one consumer group (`honcho start -c automation=2`).
"""

import pathlib

from crm.automation.v1 import automation_service_pb2_grpc as pb_grpc
from crm.identity.events.v1 import identity_events_pb2 as iev
from crm_platform.auth import TokenSigner, read_key
from crm_platform.idempotency import IdempotencyStore
from crm_platform.messaging import FETCH_MAX_WAIT_MS, IdempotentConsumer, Subscription
from crm_platform.outbox import OutboxRelay
from crm_platform.rpc import GrpcServer
from crm_platform.runtime import GrpcComponent, LoopComponent, run
from crm_automation.adapters.clients import Pipeline, Records
from crm_automation.adapters.orm import OUTBOX, PLATFORM
from crm_automation.config import AutomationSettings
from crm_automation.entrypoints.grpc_server import ProcessService
from crm_automation.service_layer.services import SUBSCRIBED, TOPICS, AutomationService

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"
CONSUMER_GROUP = "automation.record-triggers"


def _service(settings: AutomationSettings, db) -> AutomationService:
    signer = TokenSigner(read_key(settings.service_private_key.get()), issuer="crm-automation")
    return AutomationService(db, Pipeline(settings.pipeline_addr, settings.rpc_timeout),
                             Records(settings.records_addr, signer, settings.rpc_timeout),
                             run_attempts=settings.run_attempts)


def api(settings: AutomationSettings, db):
    """The gRPC API (process definitions and runs)."""
    server = GrpcServer(settings.grpc_bind, settings.verifier(), max_workers=settings.grpc_workers,
                        idempotency=IdempotencyStore(db, PLATFORM["idempotency_keys"]))
    server.add(pb_grpc.add_ProcessServiceServicer_to_server, ProcessService(_service(settings, db)),
               "crm.automation.v1.ProcessService")
    return [GrpcComponent(server, db)]


def consumer(settings: AutomationSettings, db):
    """The process runner: record events in, tasks out."""
    svc = _service(settings, db)
    subs = [Subscription("crm.identity.company.v1", iev.CompanyCreated, svc.remember_company)]
    for topic, classes in SUBSCRIBED.items():
        subs += [Subscription(topic, cls, svc.run_for_event, svc.run_for_events) for cls in classes]
    loop = IdempotentConsumer(db, PLATFORM["processed_events"], settings.kafka_bootstrap, CONSUMER_GROUP, subs,
                              max_attempts=settings.run_attempts, on_dead_letter=svc.park_failed,
                              fetch_max_wait_ms=FETCH_MAX_WAIT_MS)  # event->task latency is a goal
    return [LoopComponent("consumer", loop)]


def relay(settings: AutomationSettings, db):
    """The outbox relay."""
    return [LoopComponent("relay", OutboxRelay(db, OUTBOX, settings.kafka_bootstrap, TOPICS))]


ROLES = {"api": api, "consumer": consumer, "relay": relay}

if __name__ == "__main__":
    run("automation", AutomationSettings, ROLES, MIGRATIONS)
