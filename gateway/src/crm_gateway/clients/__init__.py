"""Every gRPC call the gateway makes lives in this package: one module per service, one function per
call, each with a deadline.

Channels are created lazily in each gunicorn worker after fork (never in the master), with
keepalive and a service config that retries only the idempotent methods on UNAVAILABLE. A service
whose address is not configured has no channel and is not part of /readyz.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import grpc
from flask import current_app, g, request as http_request
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm_gateway.errors import ApiError
from crm_platform.errors import decode_error
from crm_platform.rpc import call_metadata, make_channel, service_config


@dataclass
class BackendSpec:
    services: tuple[str, ...]
    idempotent: list[tuple[str, str]] = field(default_factory=list)

    @property
    def read_methods(self) -> set[str]:
        return {m for _, m in self.idempotent}


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
        """True at once when the channel is up, False at once when its last connect failed (the
        channel keeps retrying in the background); else wait up to `timeout` for the connect under way
        to succeed or fail (a refused connect fails in milliseconds, a restarting service takes longer)."""
        state = self.states.get(name)
        if state == grpc.ChannelConnectivity.READY:
            return True
        if state == grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            # the channel retries every <= 250 ms: a service that just came back is READY by then
            try:
                grpc.channel_ready_future(self.channel(name)).result(timeout=min(timeout, 0.3))
                return True
            except grpc.FutureTimeoutError:
                return False
        settled = threading.Event()
        outcome: list[grpc.ChannelConnectivity] = []

        def watch(new_state):
            if new_state in (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE,
                             grpc.ChannelConnectivity.SHUTDOWN):
                outcome.append(new_state)
                settled.set()

        channel = self.channel(name)
        channel.subscribe(watch, try_to_connect=True)
        try:
            settled.wait(timeout)
        finally:
            channel.unsubscribe(watch)
        return bool(outcome) and outcome[0] == grpc.ChannelConnectivity.READY

    def configured(self) -> list[str]:
        return [n for n in SPECS if n in self.addresses]


class _Call:
    """A stub method that remembers which backend it calls."""

    __slots__ = ("backend", "method", "name")

    def __init__(self, backend: str, method, name: str):
        self.backend = backend
        self.method = method
        self.name = name

    def __call__(self, *args, **kwargs):
        return self.method(*args, **kwargs)


class _Stub:
    """A generated stub whose methods carry their backend's name (for the connect check in `call`)."""

    def __init__(self, backend: str, raw):
        self._backend = backend
        self._raw = raw

    def __getattr__(self, name: str) -> _Call:
        return _Call(self._backend, getattr(self._raw, name), name)


def backends() -> Backends:
    return current_app.extensions["crm"].backends


def stub(name: str, cls: type):
    """The stub of class `cls` on backend `name`'s channel."""
    return backends().stub(name, cls)


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _idempotency_key(method: _Call) -> str | None:
    """The key a write call carries: the client's Idempotency-Key on a POST, else one made from the
    request id (numbered when one request makes several calls). Reads carry none.

    Every write carries a key, so the gateway may retry it when the service was restarting (the
    service answers a repeated key with the first answer instead of doing the work twice).
    """
    if http_request.method not in WRITE_METHODS or method.name in SPECS[method.backend].read_methods:
        return None
    calls = g.setdefault("write_calls", 0)
    g.write_calls = calls + 1
    client_key = http_request.headers.get("Idempotency-Key") if http_request.method == "POST" else None
    base = client_key or f"auto:{g.get('request_id', '')}"
    return base if calls == 0 else f"{base}#{calls}"


def _not_processed(exc: grpc.RpcError) -> bool:
    """UNAVAILABLE or CANCELLED without our error trailer: the service was unreachable, or stopping (a call
    that reaches a server as its graceful stop begins is cancelled before the handler runs), not failing.
    The retry carries the same idempotency key, so a call that did run is answered, not done again."""
    return exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED) \
        and decode_error(exc.trailing_metadata()) is None


def call(method: _Call, request, timeout: float | None = None):
    """Call a unary method with the request id, the caller's token and a deadline.

    A backend whose connection is being made gets at most GATEWAY_CONNECT_TIMEOUT_SECONDS; one whose
    last connect failed answers 503 at once, whatever the call's own deadline is. A write that met a
    stopping service is sent again (twice at most) with the same idempotency key.
    """
    settings = current_app.extensions["crm"].settings
    timeout = timeout or settings.rpc_timeout
    key = _idempotency_key(method)
    metadata = call_metadata(getattr(g, "token", None), key)
    for attempt in range(3):
        if not backends().await_connected(method.backend, min(timeout, settings.connect_timeout)):
            raise ApiError(503, "service_unavailable", headers={"Retry-After": 1}, service=method.backend)
        try:
            return method(request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as exc:
            if key is None or attempt == 2 or not _not_processed(exc):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


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
