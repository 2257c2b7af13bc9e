"""Automation processes: `python -m crm_automation [api|consumer|relay|all|migrate]`;
`python -m crm_automation dlq list|redrive` for its dead letters (`crm_platform.dlq`).

The consumer runs the business processes; several replicas share the record topics' partitions
in one consumer group (`honcho start -c automation=2`).
"""

import pathlib

from crm.automation.v1 import automation_service_pb2_grpc as pb_grpc
from crm_platform.auth import TokenSigner, read_key
from crm_platform.runtime import GrpcComponent, LoopComponent, grpc_server, relay_role, run
from crm_automation.adapters.clients import Pipeline, Records
from crm_automation.adapters.orm import PLATFORM
from crm_automation.config import AutomationSettings
from crm_automation.entrypoints.consumer import make_consumer
from crm_automation.entrypoints.grpc_server import ProcessService
from crm_automation.service_layer.services import TOPICS, AutomationService

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"


def _service(settings: AutomationSettings, db) -> AutomationService:
    signer = TokenSigner(read_key(settings.service_private_key.get()), issuer="crm-automation")
    return AutomationService(db, Pipeline(settings.pipeline_addr, settings.rpc_timeout),
                             Records(settings.records_addr, signer, settings.rpc_timeout),
                             run_attempts=settings.run_attempts)


def api(settings: AutomationSettings, db):
    """The gRPC API (process definitions and runs)."""
    server = grpc_server("automation", settings, db, PLATFORM)
    server.add(pb_grpc.add_ProcessServiceServicer_to_server, ProcessService(_service(settings, db)),
               "crm.automation.v1.ProcessService")
    return [GrpcComponent(server, db)]


def consumer(settings: AutomationSettings, db):
    """The process runner: record events in, tasks out."""
    return [LoopComponent("consumer", make_consumer(_service(settings, db), settings.kafka_bootstrap))]


ROLES = {"api": api, "consumer": consumer, "relay": relay_role(PLATFORM, TOPICS)}

if __name__ == "__main__":
    run("automation", AutomationSettings, ROLES, MIGRATIONS)
