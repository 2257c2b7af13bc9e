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
import json
import logging
import pathlib
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from crm_platform.auth import TokenVerifier, read_key
from crm_platform.config import ConfigError, load, setting
from crm_platform.db import Database
from crm_platform.idempotency import IdempotencyStore
from crm_platform.logs import setup_logging
from crm_platform.outbox import OutboxRelay
from crm_platform.rpc import GrpcServer

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """Settings every service reads; `PREFIX_` is the service name in capitals."""

    database_url: str = setting("DATABASE_URL", doc="SQLAlchemy URL of this service's own database")
    grpc_bind: str = setting("GRPC_BIND", doc="host:port the gRPC API listens on")
    kafka_bootstrap: str = setting("KAFKA_BOOTSTRAP_SERVERS", shared=True, doc="broker host:port list")
    auth_public_key: str = setting("AUTH_PUBLIC_KEY", shared=True, doc="PEM or path: verifies access tokens")
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

    def verifier(self) -> TokenVerifier:
        """Build the token verifier from the configured public keys."""
        return TokenVerifier(read_key(self.auth_public_key),
                             read_key(self.service_public_key) if self.service_public_key else None)


class Component(Protocol):
    """Something a process runs: started once, stopped on shutdown, asked whether ready."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def is_ready(self) -> bool: ...


class LoopComponent:
    """Run a blocking loop (relay, consumer, worker) in a thread; stop it through its event."""

    def __init__(self, name: str, loop, ready: threading.Event | None = None, gates_readiness: bool = True):
        self.name = name
        self.loop = loop
        self._ready = ready or getattr(loop, "ready", None)
        self.gates_readiness = gates_readiness  # False: the process is ready while this loop's thread runs
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.failed = False

    def _run(self) -> None:
        try:
            self.loop.run()
        except Exception:  # noqa: BLE001
            self.failed = True
            log.exception("%s stopped with an error", self.name)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.loop.stop_event.set()
        self.thread.join(10)

    def is_ready(self) -> bool:
        if not self.gates_readiness:
            return not self.failed and self.thread.is_alive()
        return self.state()

    def state(self) -> bool:
        """The loop's own readiness, shown on /readyz even when it does not gate the process's."""
        return not self.failed and self.thread.is_alive() and (self._ready is None or self._ready.is_set())


class GrpcComponent:
    """Adapt a GrpcServer to the component protocol."""

    def __init__(self, server, db: Database):
        self.server = server
        self.db = db

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def is_ready(self) -> bool:
        return self.db.ping()


def _health_server(host: str, port: int, components: list) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server naming
            if self.path == "/metrics":
                body, ctype, code = generate_latest(), CONTENT_TYPE_LATEST, 200
            elif self.path in ("/healthz", "/readyz"):
                ok = self.path == "/healthz" or all(c.is_ready() for c in components)
                states = {c.name: c.state() for c in components if isinstance(c, LoopComponent)}
                body = json.dumps({"status": "ok" if ok else "not_ready", "loops": states}).encode()
                ctype, code = "application/json", 200 if ok else 503
            else:
                body, ctype, code = b"{}", "application/json", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    httpd = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=httpd.serve_forever, name="health-http", daemon=True).start()
    return httpd


RoleBuilder = Callable[[object, Database], list]


def grpc_server(settings: ServiceSettings, db: Database, tables: dict, public_methods=(),
                readiness: Callable[[], bool] | None = None) -> GrpcServer:
    """The service's gRPC server: its idempotency keys in `tables` (the platform tables of its database);
    `readiness` (default: always) is what grpc.health.v1 reports."""
    return GrpcServer(settings.grpc_bind, settings.verifier(), public_methods=public_methods,
                      max_workers=settings.grpc_workers, idempotency=IdempotencyStore(db, tables["idempotency_keys"]),
                      **({"readiness": readiness} if readiness else {}))


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
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    if args.role == "migrate" or settings.auto_migrate:
        db.migrate(migrations_dir)
        if args.role == "migrate":
            return
    selected = list(roles) if args.role == "all" else [args.role]
    components = []
    for role in selected:
        components.extend(roles[role](settings, db))
    stopping = threading.Event()

    def _on_signal(signum, _frame):
        log.info("signal %s: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    for c in components:
        c.start()
    httpd = _health_server(settings.health_host, settings.health_port, components) if settings.health_port else None
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
