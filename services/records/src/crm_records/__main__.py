"""Records processes: `python -m crm_records [api|relay|consumer|all|migrate]`;
`python -m crm_records dlq list|redrive` for its dead letters (`crm_platform.dlq`)."""

import pathlib
import threading

from crm.records.v1 import records_service_pb2_grpc as pb_grpc
from crm_platform.auth import TokenSigner, read_key
from crm_platform.runtime import GrpcComponent, LoopComponent, grpc_server, relay_role, run
from crm_records.adapters.directory import StageDirectory, UserDirectory
from crm_records.adapters.orm import PLATFORM
from crm_records.config import RecordsSettings
from crm_records.domain import model
from crm_records.entrypoints.consumer import CacheInvalidator, make_consumer, make_reports_consumer
from crm_records.entrypoints.grpc_server import RecordsService as RecordsServicer
from crm_records.service_layer.services import TOPICS, RecordsService

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"
_SERVICES: dict[int, RecordsService] = {}


def _service(settings: RecordsSettings, db) -> RecordsService:
    """One use-case object (and one stage cache) per process, shared by its components."""
    if id(db) not in _SERVICES:
        signer = TokenSigner(read_key(settings.service_private_key.get())) if settings.service_private_key else None
        stages = StageDirectory(settings.pipeline_addr, ttl=settings.stage_cache_seconds,
                                timeout=settings.rpc_timeout, signer=signer)
        users = UserDirectory(settings.identity_addr, timeout=settings.rpc_timeout, signer=signer,
                              ttl=settings.user_cache_seconds)
        _SERVICES[id(db)] = RecordsService(db, stages, users)
    return _SERVICES[id(db)]


def api(settings: RecordsSettings, db):
    """The gRPC API, with a listener that drops the stage cache on pipeline changes."""
    svc = _service(settings, db)
    # Loading every country's phone metadata takes seconds: do it before the first ListCountries asks.
    threading.Thread(target=model.countries, name="countries-warmup", daemon=True).start()
    server = grpc_server("records", settings, db, PLATFORM)
    server.add(pb_grpc.add_RecordsServiceServicer_to_server, RecordsServicer(svc), "crm.records.v1.RecordsService")
    invalidator = CacheInvalidator(svc.stages, svc.users, settings.kafka_bootstrap)
    svc.stages.trusted = svc.users.trusted = invalidator.listening
    # the listener's readiness is not the process's: records serves (uncached) while the broker is down
    return [GrpcComponent(server, db), LoopComponent("caches", invalidator, gates_readiness=False)]


def consumer(settings: RecordsSettings, db):
    """Pipeline events: move records out of removed stages, drop cached stage contexts; identity's
    UserDeactivated: hand the user's open deals, clients and tasks over; records' own deal events: the
    reports' read model."""
    svc = _service(settings, db)
    return [LoopComponent("consumer", make_consumer(svc, settings.kafka_bootstrap)),
            LoopComponent("reports", make_reports_consumer(svc, settings.kafka_bootstrap))]


ROLES = {"api": api, "relay": relay_role(PLATFORM, TOPICS), "consumer": consumer}

if __name__ == "__main__":
    run("records", RecordsSettings, ROLES, MIGRATIONS)
