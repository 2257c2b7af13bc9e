"""gRPC hygiene: deadlines on every call, retries only where safe, keepalive, channels made after fork."""

from __future__ import annotations

import ast
import json
import pathlib

from crm_gateway import clients
from crm_platform.rpc import KEEPALIVE_OPTIONS, service_config

CLIENTS = pathlib.Path(clients.__file__).parent


def test_every_backend_call_goes_through_call_with_a_deadline():
    for path in CLIENTS.glob("*.py"):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            # a stub method used directly, e.g. _stub().GetDeal(req), would skip the deadline and checks
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Call) and node.func.attr[:1].isupper():
                raise AssertionError(f"{path.name}:{node.lineno} calls {node.func.attr} without clients.call")
    source = (CLIENTS / "__init__.py").read_text()
    assert "timeout=timeout" in source


def test_retry_policies_cover_only_idempotent_methods():
    config = json.loads(service_config(["crm.x.v1.XService"], [("crm.x.v1.XService", "GetThing")]))
    default, retrying = config["methodConfig"]
    assert "retryPolicy" not in default and default["timeout"]
    assert retrying["name"] == [{"service": "crm.x.v1.XService", "method": "GetThing"}]
    assert retrying["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE", "CANCELLED"]
    for spec in clients.SPECS.values():
        for _, method in spec.idempotent:
            assert method.startswith(("Get", "List", "BatchGet", "Check")), method


def test_keepalive_is_set():
    options = dict(KEEPALIVE_OPTIONS)
    assert options["grpc.keepalive_time_ms"] > 0 and options["grpc.keepalive_timeout_ms"] > 0


def test_channels_are_made_again_after_fork(monkeypatch):
    from crm_gateway.clients import identity  # noqa: F401 - registers the backend

    backends = clients.Backends({"identity": "127.0.0.1:1"})
    first = backends.channel("identity")
    assert backends.channel("identity") is first
    monkeypatch.setattr(clients.os, "getpid", lambda: -1)  # as in a freshly forked worker
    assert backends.channel("identity") is not first
