"""Process runtime shared by every service: settings, roles (process types), signals, health port.

A service's `__main__` declares its process types (`api`, `relay`, `consumer`, ...) as functions
that build components; `all` runs every type in one process (what `make run` uses), while
containers run one type each. SIGTERM and SIGINT stop every component gracefully.
`python -m crm_<service> dlq list|redrive` (`crm_platform.dlq`) works on the service's dead letters,
with the consumers its `consumer` process type builds.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import pathlib
import signal
import sys
import threading
from typing import Callable

from crm_platform import kafka_auth, outbox, topics
from crm_platform.auth import TokenVerifier, read_key
from crm_platform.config import ConfigError, load, setting
from crm_platform.db import Database
# the components a role builds, and the health port (liveness, readiness): services import them from here
from crm_platform.health import Component, GrpcComponent, LoopComponent, health_server  # noqa: F401
from crm_platform.idempotency import IdempotencyStore
from crm_platform.logs import setup_logging
from crm_platform.outbox import OutboxRelay
from crm_platform.rpc import GrpcServer, configure_tls
from crm_platform.tls import Tls, tls_of, tls_problems

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """Settings every service reads; `PREFIX_` is the service name in capitals."""

    database_url: str = setting("DATABASE_URL", doc="SQLAlchemy URL of this service's own database")
    grpc_bind: str = setting("GRPC_BIND", doc="host:port the gRPC API listens on")
    kafka_bootstrap: str = setting("KAFKA_BOOTSTRAP_SERVERS", shared=True, doc="broker host:port list")
    auth_public_key: str = setting("AUTH_PUBLIC_KEY", "", shared=True,
                                   doc="PEM or path: verifies access tokens (required where gRPC is served)")
    service_public_key: str = setting("SERVICE_TOKEN_PUBLIC_KEY", "", shared=True,
                                      doc="PEM or path: verifies service tokens")
    log_level: str = setting("LOG_LEVEL", "INFO", shared=True)
    auto_migrate: bool = setting("AUTO_MIGRATE", True, bool, shared=True)
    health_port: int = setting("HEALTH_PORT", 0, int, doc="HTTP /healthz /readyz /metrics port; 0 = off")
    health_host: str = setting("HEALTH_HOST", "127.0.0.1", shared=True, doc="address of the health port")
    grpc_workers: int = setting("GRPC_WORKERS", 16, int)
    db_pool_size: int = setting("DB_POOL_SIZE", 10, int)
    outbox_max_attempts: int = setting("OUTBOX_MAX_ATTEMPTS", 10, int, shared=True,
                                       doc="failed publishes after which the relay parks an outbox row")
    kafka_idempotent_producer: bool = setting("KAFKA_IDEMPOTENT_PRODUCER", False, bool, shared=True,
                                              doc="enable_idempotence (Apache Kafka; Tansu 0.6 refuses it)")
    kafka_replication_factor: int = setting("KAFKA_REPLICATION_FACTOR", 1, int, shared=True,
                                            doc="replicas of each topic a process creates (a cluster: 3; Tansu: 1)")
    kafka_min_insync_replicas: int = setting("KAFKA_MIN_INSYNC_REPLICAS", 1, int, shared=True,
                                             doc="min.insync.replicas of each topic a process creates (3 replicas: 2)")
    kafka_security_protocol: str = setting("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", shared=True,
                                           doc="PLAINTEXT (make run's Tansu), SASL_PLAINTEXT or SASL_SSL")
    kafka_sasl_mechanism: str = setting("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", shared=True)
    kafka_sasl_username: str = setting("KAFKA_SASL_USERNAME", "", shared=True,
                                       doc="this service's SCRAM user (its ACLs: crm_platform.kafka_acls)")
    kafka_sasl_password: str = setting("KAFKA_SASL_PASSWORD", "", shared=True, secret=True)
    kafka_ssl_cafile: str = setting("KAFKA_SSL_CAFILE", "", shared=True, doc="SASL_SSL: the brokers' CA (PEM file)")
    grpc_tls_ca: str = setting("GRPC_TLS_CA", "", shared=True,
                               doc="PEM file: the CA of gRPC mutual TLS (with GRPC_TLS_CERT/KEY; unset: plaintext)")
    grpc_tls_cert: str = setting("GRPC_TLS_CERT", "", doc="PEM file: this service's gRPC certificate (its CA signed)")
    grpc_tls_key: str = setting("GRPC_TLS_KEY", "", doc="PEM file: the private key of GRPC_TLS_CERT")

    def problems(self, environ, prefix: str = "") -> list[str]:
        """Checked by `config.load`: no plaintext gRPC outside loopback unless CRM_ENV=development."""
        return tls_problems(self, environ, prefix) + kafka_auth.from_settings(self).problems()

    def grpc_tls(self) -> Tls | None:
        """This process's gRPC mutual TLS, or None (plaintext)."""
        return tls_of(self.grpc_tls_ca, self.grpc_tls_cert, self.grpc_tls_key)

    def verifier(self, service: str) -> TokenVerifier:
        """Build the token verifier of `service` (the audience of the service tokens it accepts) from the
        configured public keys: only the processes that serve gRPC verify tokens, so only they need them."""
        if not self.auth_public_key:
            raise ConfigError(f"{type(self).__name__}: AUTH_PUBLIC_KEY is required by a process that serves "
                              "gRPC (it verifies every call's token)")
        return TokenVerifier(read_key(self.auth_public_key),
                             read_key(self.service_public_key) if self.service_public_key else None, service)


RoleBuilder = Callable[[object, Database], list]


def grpc_server(service: str, settings: ServiceSettings, db: Database, tables: dict, public_methods=(),
                readiness: Callable[[], bool] | None = None) -> GrpcServer:
    """The gRPC server of `service` (service tokens are let through by its entry of
    `crm_platform.service_calls`): its idempotency keys in `tables` (the platform tables of its
    database); `readiness` (default: the database answers) is what grpc.health.v1 reports."""
    return GrpcServer(settings.grpc_bind, settings.verifier(service), public_methods=public_methods, service=service,
                      max_workers=settings.grpc_workers, idempotency=IdempotencyStore(db, tables["idempotency_keys"]),
                      readiness=readiness or db.ping)


def relay_role(tables: dict, topics) -> RoleBuilder:
    """The `relay` process type: publish the outbox of `tables` to `topics`, purge expired rows and keys."""
    def relay(settings: ServiceSettings, db: Database) -> list:
        """The outbox relay."""
        return [LoopComponent("relay", OutboxRelay(db, tables["outbox"], settings.kafka_bootstrap, topics,
                                                   idempotency=IdempotencyStore(db, tables["idempotency_keys"]),
                                                   max_attempts=settings.outbox_max_attempts,
                                                   idempotent_producer=settings.kafka_idempotent_producer))]

    return relay


def run(service: str, settings_cls: type, roles: dict[str, RoleBuilder], migrations_dir: pathlib.Path,
        argv: list[str] | None = None) -> None:
    """Entry point of a service process: `python -m crm_<service> [role|all|migrate|dlq ...]`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["dlq"]:
        raise SystemExit(_dlq(service, settings_cls, roles, migrations_dir, argv[1:]))
    parser = argparse.ArgumentParser(prog=f"crm_{service}", epilog=f"dead letters: crm_{service} dlq --help")
    parser.add_argument("role", nargs="?", default="all", choices=[*roles, "all", "migrate"])
    args = parser.parse_args(argv)
    try:
        settings = load(settings_cls, prefix=service.upper())
    except ConfigError as exc:
        print(f"crm_{service}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    setup_logging(f"{service}-{args.role}", settings.log_level)
    configure_tls(settings.grpc_tls())  # every server and channel of the process (crm_platform.rpc)
    kafka_auth.configure(kafka_auth.from_settings(settings))  # every producer, consumer and admin client
    topics.configure(settings.kafka_replication_factor, settings.kafka_min_insync_replicas)
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    if args.role == "migrate" or settings.auto_migrate:
        db.migrate(migrations_dir)
        if args.role == "migrate":
            return
    selected = list(roles) if args.role == "all" else [args.role]
    components = []
    try:
        for role in selected:
            components.extend(roles[role](settings, db))
    except ConfigError as exc:  # a setting only this role needs (e.g. the public key of a gRPC server)
        print(f"crm_{service}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    if any(role != "relay" for role in selected):  # they write the outbox here: commits wake the relay
        outbox.WRITERS_IN_PROCESS.set()
    stopping = threading.Event()

    def _on_signal(signum, _frame):
        log.info("signal %s: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    for c in components:
        c.start()
    httpd = health_server(settings.health_host, settings.health_port, components, db) if settings.health_port else None
    log.info("%s started: %s", service, ", ".join(selected))
    stopping.wait()
    for c in components:
        c.stop()
    if httpd is not None:
        httpd.shutdown()
    db.dispose()
    log.info("%s stopped", service)


def _dlq(service: str, settings_cls: type, roles: dict[str, RoleBuilder], migrations_dir: pathlib.Path,
         argv: list[str]) -> int:
    """`python -m crm_<service> dlq list|redrive`: the service's settings and database, as the service
    reads them; the consumers its `consumer` process type builds (not started: a redrive applies
    through their handlers); logs on stderr, the answer on stdout."""
    from crm_platform import dlq
    from crm_platform.messaging import IdempotentConsumer

    args = dlq.parser(f"crm_{service} dlq").parse_args(argv)
    try:
        settings = load(settings_cls, prefix=service.upper())
    except ConfigError as exc:
        print(f"crm_{service}: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(f"{service}-dlq", settings.log_level, stream=sys.stderr)
    configure_tls(settings.grpc_tls())
    kafka_auth.configure(kafka_auth.from_settings(settings))
    db = Database(settings.database_url, pool_size=2)
    try:
        if settings.auto_migrate:
            db.migrate(migrations_dir)
        consumers = [c.loop for c in (roles["consumer"](settings, db) if "consumer" in roles else [])
                     if isinstance(getattr(c, "loop", None), IdempotentConsumer)]
        table = next((c.dead_letters.table for c in consumers), None)
        return dlq.main(args, dlq.DeadLetters(db, table), consumers)
    finally:
        db.dispose()
