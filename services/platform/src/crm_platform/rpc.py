"""gRPC server bootstrap and client channels.

`GrpcServer` wires health (real readiness), reflection, one interceptor (request id, token
verification, error mapping, logs and metrics) and graceful stop. `make_channel` builds client
channels with keepalive and a service config that retries only the idempotent methods.

Both are the one place gRPC transport is made: with the process's mutual TLS (`configure_tls`, which
`runtime.run` and the gateway call with their settings; `crm_platform.tls`) every server requires a
client certificate of the CA and every channel presents the process's own; without it, plaintext.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from concurrent import futures
from typing import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from crm_platform import metrics
from crm_platform.auth import TokenVerifier
from crm_platform.context import new_request_id, principal_var, request_id_var
from crm_platform.service_calls import grants
from crm_platform.tls import Tls
from sqlalchemy.exc import OperationalError

from crm_platform.errors import AppError, PermissionDenied, Unauthenticated, Unavailable
from crm_platform.idempotency import METADATA_KEY, CallKey, IdempotencyStore, Replay, pending_call, request_hash, \
    response_class

log = logging.getLogger(__name__)

_tls: Tls | None = None  # the process's gRPC mutual TLS (configure_tls); None: plaintext
_PROCESS = object()


def configure_tls(tls: Tls | None) -> None:
    """Set the process's gRPC transport: every GrpcServer and make_channel made afterwards uses `tls`
    (None: plaintext)."""
    global _tls
    _tls = tls


def process_tls() -> Tls | None:
    """The transport `configure_tls` set."""
    return _tls

KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 30000),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]
SERVER_OPTIONS = KEEPALIVE_OPTIONS + [
    ("grpc.http2.min_ping_interval_without_data_ms", 10000),
    ("grpc.so_reuseport", 1),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
]


class ContextInterceptor(grpc.ServerInterceptor):
    """Set request id and caller, verify the token, map AppError to a status with details."""

    def __init__(self, verifier: TokenVerifier, public_methods: Iterable[str],
                 idempotency: IdempotencyStore | None = None, service: str = ""):
        self.verifier = verifier
        self.public = set(public_methods)
        self.idempotency = idempotency
        self.service = service  # this server's service: whose allowlist service tokens meet

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        if method.startswith(("/grpc.health.", "/grpc.reflection.")):
            return handler
        inner = handler.unary_unary
        public = method in self.public

        def wrapper(request, context: grpc.ServicerContext):
            md = dict(context.invocation_metadata())
            rid_token = request_id_var.set(md.get("x-request-id") or new_request_id())
            principal_token = principal_var.set(None)
            start = time.perf_counter()
            code = "OK"
            try:
                auth = md.get("authorization", "")
                if auth.startswith("Bearer "):
                    principal_var.set(self._granted(self.verifier.verify(auth[7:]), method))
                elif not public:
                    raise Unauthenticated("unauthenticated", "Missing token")
                key = md.get(METADATA_KEY)
                principal = principal_var.get()
                if key and self.idempotency is not None and principal is not None:
                    return self._once(inner, request, context, method, key, principal)
                return inner(request, context)
            except AppError as exc:
                code = exc.status.name
                context.set_trailing_metadata(exc.to_metadata())
                context.abort(exc.status, exc.message)
            except grpc.RpcError:
                raise
            except OperationalError as exc:  # the database is down or locked: fail fast, retryable
                code = "UNAVAILABLE"
                log.warning("database unavailable in %s: %s", method, exc.orig if exc.orig else exc)
                context.set_trailing_metadata(Unavailable("service_unavailable", "Database unavailable").to_metadata())
                context.abort(grpc.StatusCode.UNAVAILABLE, "database unavailable")
            except Exception:  # noqa: BLE001 - unexpected: log it, answer INTERNAL
                if context.code() is not None:  # abort() already set a status
                    raise
                code = "INTERNAL"
                log.exception("unhandled error in %s", method)
                context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                metrics.GRPC_HANDLED.labels(method, code).inc()
                metrics.GRPC_LATENCY.labels(method).observe(time.perf_counter() - start)
                principal_var.reset(principal_token)
                request_id_var.reset(rid_token)

        return grpc.unary_unary_rpc_method_handler(
            wrapper, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


    def _granted(self, principal, method: str):
        """A user as their token says; a service only for the methods the allowlist gives its caller,
        with the rights it lists (`crm_platform.service_calls`)."""
        if principal.kind != "service":
            return principal
        rights = grants(self.service, principal.caller, method)
        if rights is None:
            log.warning("service %s refused %s", principal.caller, method)
            raise PermissionDenied("forbidden", f"Service {principal.caller} may not call {method}")
        return dataclasses.replace(principal, permissions=rights)

    def _once(self, inner, request, context, method: str, key: str, principal):
        """Run a call at most once per key of its caller: its first write unit of work claims the key
        (`crm_platform.idempotency`); a replay answers what the first call answered."""
        call = CallKey(principal.company_id, principal.user_id or "", method, key, request_hash(method, request))
        token = pending_call.set(call)
        try:
            response = inner(request, context)
        except Replay as replay:
            context.set_trailing_metadata((("idempotent-replay", "true"),))
            return response_class(method).FromString(replay.response)
        finally:
            pending_call.reset(token)
        if call.claimed and not call.answered:
            self.idempotency.complete(call, response.SerializeToString())
        return response


class GrpcServer:
    """A gRPC server with health, reflection, the context interceptor and graceful stop."""

    def __init__(self, bind: str, verifier: TokenVerifier, *, public_methods: Iterable[str] = (),
                 readiness: Callable[[], bool] = lambda: True, max_workers: int = 16,
                 idempotency: IdempotencyStore | None = None, service: str = "", tls=_PROCESS):
        self.bind = bind
        self.readiness = readiness
        self.tls: Tls | None = _tls if tls is _PROCESS else tls
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                                  interceptors=[ContextInterceptor(verifier, public_methods, idempotency, service)],
                                  options=SERVER_OPTIONS)
        self.health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.service_names: list[str] = []
        self._stop = threading.Event()
        self.port = 0

    def add(self, add_fn, servicer, service_name: str) -> None:
        """Register a servicer (`add_fn` is the generated add_XxxServicer_to_server)."""
        add_fn(servicer, self.server)
        self.service_names.append(service_name)

    def _set_all(self, status) -> None:
        for name in ["", *self.service_names]:
            self.health.set(name, status)

    def _watch_readiness(self) -> None:
        serving = None
        while not self._stop.is_set():
            try:
                ok = bool(self.readiness())
            except Exception:  # noqa: BLE001
                ok = False
            if ok != serving:
                serving = ok
                self._set_all(health_pb2.HealthCheckResponse.SERVING if ok
                              else health_pb2.HealthCheckResponse.NOT_SERVING)
                log.info("health: %s", "SERVING" if ok else "NOT_SERVING")
            self._stop.wait(1.0 if ok else 0.2)

    def start(self) -> int:
        """Bind, start serving and begin reporting readiness; return the bound port."""
        self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        reflection.enable_server_reflection([*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME],
                                            self.server)
        if self.tls is not None:
            self.port = self.server.add_secure_port(self.bind, self.tls.server_credentials())
        else:
            self.port = self.server.add_insecure_port(self.bind)
        if not self.port:
            raise RuntimeError(f"cannot bind gRPC server to {self.bind}")
        self.server.start()
        threading.Thread(target=self._watch_readiness, name="readiness", daemon=True).start()
        log.info("gRPC serving on %s (%s)", self.bind, "mutual TLS" if self.tls else "plaintext",
                 extra={"services": self.service_names})
        return self.port

    def local_channel(self) -> grpc.Channel:
        """A channel to this server over loopback (its own health check): with TLS, it presents the
        process's certificate and checks the server's under the certificate's first DNS name."""
        host = self.bind.rpartition(":")[0]
        host = "127.0.0.1" if host in ("", "0.0.0.0", "[::]", "localhost") else host  # noqa: S104
        names = self.tls.dns_names if self.tls is not None else []
        return make_channel(f"{host}:{self.port}", tls=self.tls, server_name=names[0] if names else None)

    def stop(self, grace: float = 5.0) -> None:
        """Report NOT_SERVING, finish in-flight calls within `grace`, then stop."""
        self._stop.set()
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait(grace + 1)


def service_config(service_names: Iterable[str], idempotent_methods: Iterable[tuple[str, str]] = ()) -> str:
    """Build a channel service config: a fallback deadline, retries only for idempotent methods.

    gRPC takes the smaller of the config's timeout and the call's own deadline, so the config's is a
    ceiling for every call, not a default: 60 s, above any call's own (a bulk change's is 30 s; at 5 s
    it cut a 10,000-deal change off with 503 while records went on and committed it)."""
    config = {
        "methodConfig": [
            {"name": [{"service": s} for s in service_names], "timeout": "60s"},
        ]
    }
    idem = list(idempotent_methods)
    if idem:
        config["methodConfig"].append({
            "name": [{"service": s, "method": m} for s, m in idem],
            "timeout": "60s",
            # CANCELLED too: a call that reaches a server in the instant its graceful stop begins is
            # cancelled, not refused (seen in the rolling-restart fault test); a read is safe to repeat
            "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
                            "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"]},
        })
    return json.dumps(config)


def make_channel(target: str, config_json: str | None = None, *, tls=_PROCESS,
                 server_name: str | None = None) -> grpc.Channel:
    """Open a channel with keepalive and the given service config: mutual TLS with the process's
    certificate when it has one (`configure_tls`; `tls` overrides it), else plaintext. `server_name`:
    the name the server's certificate must hold, when it is not the target's host."""
    # Reconnect quickly after a service restarts (the default backoff grows to two minutes).
    options = list(KEEPALIVE_OPTIONS) + [("grpc.enable_retries", 1), ("grpc.initial_reconnect_backoff_ms", 100),
                                         ("grpc.min_reconnect_backoff_ms", 100),
                                         ("grpc.max_reconnect_backoff_ms", 250)]
    if config_json:
        options.append(("grpc.service_config", config_json))
    tls = _tls if tls is _PROCESS else tls
    if tls is None:
        return grpc.insecure_channel(target, options=options)
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    return grpc.secure_channel(target, tls.channel_credentials(), options=options)


def call_metadata(token: str | None = None, idempotency_key: str | None = None) -> list[tuple[str, str]]:
    """Metadata to forward on an outgoing call: the request id, the caller's token, an idempotency key."""
    md = [("x-request-id", request_id_var.get() or new_request_id())]
    if token:
        md.append(("authorization", f"Bearer {token}"))
    if idempotency_key:
        md.append((METADATA_KEY, idempotency_key))
    return md
