"""Identity processes: `python -m crm_identity [api|relay|mailer|all|migrate]`;
`python -m crm_identity dlq list|redrive` for its dead letters (`crm_platform.dlq`)."""

import pathlib

from crm.identity.v1 import identity_service_pb2_grpc as pb_grpc
from crm_platform.auth import TokenSigner, read_key
from crm_platform.runtime import GrpcComponent, LoopComponent, grpc_server, relay_role, run
from crm_identity.adapters.mailer import MailWorker, SmtpMailer
from crm_identity.adapters.orm import PLATFORM
from crm_identity.config import IdentitySettings
from crm_identity.entrypoints.grpc_server import PUBLIC_METHODS, AuthService, DirectoryService
from crm_identity.service_layer.passwords import RESET_REQUESTED
from crm_identity.service_layer.services import TOPICS, IdentityService

MIGRATIONS = pathlib.Path(__file__).resolve().parents[2] / "migrations"


def _service(settings: IdentitySettings, db) -> IdentityService:
    return IdentityService(db, TokenSigner(read_key(settings.auth_private_key.get())),
                           access_ttl=settings.access_ttl_seconds, refresh_ttl_days=settings.refresh_ttl_days,
                           reset_ttl=settings.reset_ttl_seconds, public_url=settings.public_url,
                           limits=settings.limits())


def api(settings: IdentitySettings, db):
    """The gRPC API."""
    svc = _service(settings, db)
    server = grpc_server("identity", settings, db, PLATFORM, public_methods=PUBLIC_METHODS)
    server.add(pb_grpc.add_AuthServiceServicer_to_server, AuthService(svc), "crm.identity.v1.AuthService")
    server.add(pb_grpc.add_DirectoryServiceServicer_to_server, DirectoryService(svc),
               "crm.identity.v1.DirectoryService")
    return [GrpcComponent(server, db)]


def mailer(settings: IdentitySettings, db):
    """The reset-request processor and SMTP sender."""
    return [LoopComponent("mailer", MailWorker(_service(settings, db), SmtpMailer(
        db, settings.smtp_host, settings.smtp_port, settings.mail_from), wakeup=RESET_REQUESTED, url=db.url))]


ROLES = {"api": api, "relay": relay_role(PLATFORM, TOPICS), "mailer": mailer}

if __name__ == "__main__":
    run("identity", IdentitySettings, ROLES, MIGRATIONS)
