"""Pipeline processes: `python -m crm_pipeline [api|relay|consumer|all|migrate]`;
`python -m crm_pipeline dlq list|redrive` for its dead letters (`crm_platform.dlq`)."""

import pathlib

from crm.pipeline.v1 import pipeline_service_pb2_grpc as pb_grpc
from crm_platform.runtime import GrpcComponent, LoopComponent, grpc_server, relay_role, run
from crm_pipeline.adapters.orm import PLATFORM
from crm_pipeline.config import PipelineSettings
from crm_pipeline.entrypoints.consumer import make_consumer
from crm_pipeline.entrypoints.grpc_server import PipelineService as PipelineServicer
from crm_pipeline.service_layer.services import TOPICS, PipelineService

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"


def api(settings: PipelineSettings, db):
    """The gRPC API."""
    svc = PipelineService(db)
    server = grpc_server("pipeline", settings, db, PLATFORM, readiness=db.ping)
    server.add(pb_grpc.add_PipelineServiceServicer_to_server, PipelineServicer(svc), "crm.pipeline.v1.PipelineService")
    return [GrpcComponent(server, db)]


def consumer(settings: PipelineSettings, db):
    """The consumer of other services' events (company created)."""
    return [LoopComponent("consumer", make_consumer(db, settings.kafka_bootstrap, PipelineService(db)))]


ROLES = {"api": api, "relay": relay_role(PLATFORM, TOPICS), "consumer": consumer}

if __name__ == "__main__":
    run("pipeline", PipelineSettings, ROLES, MIGRATIONS)
