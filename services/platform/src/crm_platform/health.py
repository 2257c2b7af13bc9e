"""What a process runs (its components) and how it tells whether it is alive and whether it is ready.

Every service process (every role, `all` too) answers on its health port (`<SVC>_HEALTH_PORT`):

- `/healthz`, **liveness**: the process and its worker threads. 200 while every loop's thread (relay,
  consumer, mailer, records' cache listener) runs and the gRPC server, if any, answers a health `Check`
  on its own port (SERVING or not: it answered). 503 when a loop's thread died (an error escaped it, or
  it returned without being asked to stop): Kubernetes restarts the container. A dependency being down
  never fails it: the loops wait databases and brokers out themselves, so restarting would not help.
- `/readyz`, **readiness**: liveness, plus the dependencies. The service's database answers a
  `SELECT 1`, and each loop that gates readiness reports its own readiness (a consumer has its
  partitions, so the broker answers; a relay holds or waits for its lease). 503 takes the pod out of its
  Service's endpoints until it passes again, without a restart.
- `/metrics`: Prometheus.

The gRPC server's `grpc.health.v1` reports readiness too (the database, by default: `runtime.grpc_server`).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from crm_platform.db import Database

log = logging.getLogger(__name__)


class Component(Protocol):
    """Something a process runs: started once, stopped on shutdown, asked whether alive and ready."""

    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def is_alive(self) -> bool: ...
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
        except BaseException:  # noqa: BLE001 - whatever ended the thread, liveness must see it
            self.failed = True
            log.exception("%s stopped with an error", self.name)
        else:
            if not self.loop.stop_event.is_set():
                self.failed = True
                log.error("%s returned without being asked to stop", self.name)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.loop.stop_event.set()
        self.thread.join(10)

    def is_alive(self) -> bool:
        """The loop's thread runs (liveness)."""
        return not self.failed and self.thread.is_alive()

    def is_ready(self) -> bool:
        return self.state() if self.gates_readiness else self.is_alive()

    def state(self) -> bool:
        """The loop's own readiness, shown on /readyz even when it does not gate the process's."""
        return self.is_alive() and (self._ready is None or self._ready.is_set())


class GrpcComponent:
    """Adapt a GrpcServer to the component protocol."""

    name = "grpc"

    def __init__(self, server, db: Database):
        self.server = server
        self.db = db
        self._stub = None

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def is_alive(self) -> bool:
        """The server answers a grpc.health.v1 Check on its own port within 2 s, whatever its status: a
        database outage makes it NOT_SERVING (not ready), not dead."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        if not self.server.port or self.server._stop.is_set():
            return False
        if self._stub is None:  # over the server's own transport (mutual TLS: the process's certificate)
            self._stub = health_pb2_grpc.HealthStub(self.server.local_channel())
        try:
            self._stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
            return True
        except grpc.RpcError as exc:
            log.warning("liveness: the gRPC server did not answer its health check: %s", exc.code().name)
            return False

    def is_ready(self) -> bool:
        return self.is_alive()  # its dependency, the database, is the process's check


def alive(components: list) -> dict[str, bool]:
    """Liveness of each component, by name."""
    return {c.name: bool(c.is_alive()) for c in components}


def ready(components: list, db: Database | None) -> dict[str, bool]:
    """Readiness checks: the database, then each component (a loop's own readiness, even when it does not
    gate the process's, is shown under `loops`)."""
    checks = {"database": db.ping()} if db is not None else {}
    checks.update({c.name: bool(c.is_ready()) for c in components})
    return checks


def health_server(host: str, port: int, components: list, db: Database | None = None) -> ThreadingHTTPServer:
    """Serve /healthz (liveness), /readyz (readiness) and /metrics on host:port, from a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server naming
            if self.path == "/metrics":
                body, ctype, code = generate_latest(), CONTENT_TYPE_LATEST, 200
            elif self.path in ("/healthz", "/readyz"):
                checks = alive(components)
                if self.path == "/readyz" and all(checks.values()):
                    checks = ready(components, db)
                ok = all(checks.values())
                states = {c.name: c.state() for c in components if isinstance(c, LoopComponent)}
                status = "ok" if ok else ("not_ready" if self.path == "/readyz" else "dead")
                body = json.dumps({"status": status, "checks": checks, "loops": states}).encode()
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
