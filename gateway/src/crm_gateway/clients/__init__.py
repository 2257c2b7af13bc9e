"""Every gRPC call the gateway makes lives in this package: one module per service, one function per
call, each with a deadline.

Channels are created lazily in each gunicorn worker after fork (never in the master), with
keepalive and a service config that retries only the idempotent methods on UNAVAILABLE. A service
whose address is not configured has no channel and is not part of /readyz.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import grpc
from flask import current_app, g, request as http_request
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm_platform.rpc import call_metadata, make_channel, service_config


@dataclass
class BackendSpec:
    services: tuple[str, ...]
    idempotent: list[tuple[str, str]] = field(default_factory=list)


SPECS: dict[str, BackendSpec] = {}


def register_backend(name: str, services: tuple[str, ...], idempotent: list[tuple[str, str]] = ()) -> None:
    """Declare a backend (its gRPC service names and which methods are safe to retry)."""
    SPECS[name] = BackendSpec(tuple(services), list(idempotent))


class Backends:
    """The channels and stubs of one worker process."""

    def __init__(self, addresses: dict[str, str]):
        self.addresses = {k: v for k, v in addresses.items() if v}
        self._pid = None
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[tuple[str, type], object] = {}

    def _fresh(self) -> None:
        if self._pid != os.getpid():  # first use, or first use after a fork
            self._channels, self._stubs, self._pid = {}, {}, os.getpid()

    def channel(self, name: str) -> grpc.Channel:
        with self._lock:
            self._fresh()
            if name not in self._channels:
                spec = SPECS[name]
                self._channels[name] = make_channel(self.addresses[name],
                                                    service_config(spec.services, spec.idempotent))
            return self._channels[name]

    def stub(self, name: str, cls: type):
        key = (name, cls)
        with self._lock:
            self._fresh()
            found = self._stubs.get(key)
        if found is None:
            found = cls(self.channel(name))
            with self._lock:
                self._stubs[key] = found
        return found

    def configured(self) -> list[str]:
        return [n for n in SPECS if n in self.addresses]


def backends() -> Backends:
    return current_app.extensions["crm"].backends


def stub(name: str, cls: type):
    """The stub of class `cls` on backend `name`'s channel."""
    return backends().stub(name, cls)


def call(method, request, timeout: float | None = None):
    """Call a unary method with the request id, the caller's token and a deadline.

    wait_for_ready: a call made while a service restarts waits for it (within the deadline)
    instead of failing at once; nothing is sent before the connection is up.
    """
    timeout = timeout or current_app.extensions["crm"].settings.rpc_timeout
    key = http_request.headers.get("Idempotency-Key") if http_request.method == "POST" else None
    return method(request, timeout=timeout, metadata=call_metadata(getattr(g, "token", None), key),
                  wait_for_ready=True)


def health_stubs() -> dict:
    """The grpc.health.v1 stub of every configured backend."""
    return {n: backends().stub(n, health_pb2_grpc.HealthStub) for n in backends().configured()}


def health_check(health_stub, timeout: float = 1.0) -> bool:
    """Ask one service's grpc.health.v1 whether it is SERVING."""
    try:
        resp = health_stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        return resp.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False
