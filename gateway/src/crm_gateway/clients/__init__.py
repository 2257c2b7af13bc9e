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

from crm_gateway.errors import ApiError
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
    """The channels and stubs of one worker process, and each channel's connectivity."""

    def __init__(self, addresses: dict[str, str]):
        self.addresses = {k: v for k, v in addresses.items() if v}
        self._pid = None
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[tuple[str, type], object] = {}
        self.states: dict[str, grpc.ChannelConnectivity] = {}

    def _fresh(self) -> None:
        if self._pid != os.getpid():  # first use, or first use after a fork
            self._channels, self._stubs, self.states, self._pid = {}, {}, {}, os.getpid()

    def channel(self, name: str) -> grpc.Channel:
        with self._lock:
            self._fresh()
            if name not in self._channels:
                spec = SPECS[name]
                channel = make_channel(self.addresses[name], service_config(spec.services, spec.idempotent))
                self._channels[name] = channel
                channel.subscribe(lambda state, name=name: self.states.__setitem__(name, state), try_to_connect=True)
            return self._channels[name]

    def stub(self, name: str, cls: type):
        key = (name, cls)
        with self._lock:
            self._fresh()
            found = self._stubs.get(key)
        if found is None:
            found = _Stub(name, cls(self.channel(name)))
            with self._lock:
                self._stubs[key] = found
        return found

    def await_connected(self, name: str, timeout: float) -> bool:
        """True at once when the channel is up; else wait up to `timeout` for it (a restarting service)."""
        if self.states.get(name) == grpc.ChannelConnectivity.READY:
            return True
        try:
            grpc.channel_ready_future(self.channel(name)).result(timeout=timeout)
            return True
        except grpc.FutureTimeoutError:
            return False

    def configured(self) -> list[str]:
        return [n for n in SPECS if n in self.addresses]


class _Call:
    """A stub method that remembers which backend it calls."""

    __slots__ = ("backend", "method")

    def __init__(self, backend: str, method):
        self.backend = backend
        self.method = method

    def __call__(self, *args, **kwargs):
        return self.method(*args, **kwargs)


class _Stub:
    """A generated stub whose methods carry their backend's name (for the connect check in `call`)."""

    def __init__(self, backend: str, raw):
        self._backend = backend
        self._raw = raw

    def __getattr__(self, name: str) -> _Call:
        return _Call(self._backend, getattr(self._raw, name))


def backends() -> Backends:
    return current_app.extensions["crm"].backends


def stub(name: str, cls: type):
    """The stub of class `cls` on backend `name`'s channel."""
    return backends().stub(name, cls)


def call(method: _Call, request, timeout: float | None = None):
    """Call a unary method with the request id, the caller's token and a deadline.

    A backend that is not connected gets at most GATEWAY_CONNECT_TIMEOUT_SECONDS to come back (a
    restart); after that the answer is 503 at once, whatever the call's own deadline is.
    """
    settings = current_app.extensions["crm"].settings
    timeout = timeout or settings.rpc_timeout
    if not backends().await_connected(method.backend, min(timeout, settings.connect_timeout)):
        raise ApiError(503, "service_unavailable", headers={"Retry-After": 1}, service=method.backend)
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
