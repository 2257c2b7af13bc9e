"""gRPC mutual TLS between real processes on 127.0.0.1 (`crm_platform.tls`, `crm_platform.rpc`).

A service process started with `GRPC_TLS_CA` and its `<SVC>_GRPC_TLS_CERT` / `_KEY` (made by
`deploy/keygen.py tls`) answers only clients presenting a certificate of the same CA: a client
without one, with one of another CA, or speaking plaintext is refused at the handshake. Its own
liveness check (the gRPC health Check on its port, `crm_platform.health`) works under TLS, and so do
the gateway's channels. Without TLS, a process refuses to serve plaintext outside loopback unless
CRM_ENV=development.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm_platform.messaging import wait_for
from tests.support.infra import ROOT, free_port

_spec = importlib.util.spec_from_file_location("deploy_keygen", ROOT / "deploy" / "keygen.py")
keygen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(keygen)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """One CA with pipeline's and the gateway's certificates, and a second CA with a rogue certificate."""
    folder = tmp_path_factory.mktemp("tls")
    keygen.tls(folder / "ours", {"pipeline": ["pipeline-api"], "gateway": ["gateway"]}, namespaces=["crm"],
               ips=["127.0.0.1"])
    keygen.tls(folder / "theirs", {"gateway": ["gateway"]}, ips=["127.0.0.1"])
    return folder


def _files(certs, ca: str, name: str) -> tuple[str, str, str]:
    base = certs / ca / name
    return str(base / "ca.crt"), str(base / "tls.crt"), str(base / "tls.key")


def _get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def _env(tmp_path, keys, grpc_port: int, health_port: int, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "GRPC_TLS"))}
    return {**env, "PIPELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'pipeline.db'}",
            "PIPELINE_GRPC_BIND": f"127.0.0.1:{grpc_port}", "PIPELINE_HEALTH_PORT": str(health_port),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "AUTH_PUBLIC_KEY": keys["access_public"],
            "CRM_ENV": "production", **extra}


@pytest.fixture(scope="module")
def tls_pipeline(certs, keys, tmp_path_factory):
    """`python -m crm_pipeline api` with mutual TLS; yields (gRPC port, health port)."""
    tmp = tmp_path_factory.mktemp("pipeline")
    grpc_port, health_port = free_port(), free_port()
    ca, cert, key = _files(certs, "ours", "pipeline")
    env = _env(tmp, keys, grpc_port, health_port, GRPC_TLS_CA=ca, PIPELINE_GRPC_TLS_CERT=cert,
               PIPELINE_GRPC_TLS_KEY=key)
    with open(tmp / "pipeline-api.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "crm_pipeline", "api"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: _get(health_port, "/readyz")[0] == 200 or proc.poll() is not None, 60)
        assert proc.poll() is None, (tmp / "pipeline-api.log").read_text()
        yield grpc_port, health_port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _channel(port: int, credentials: grpc.ChannelCredentials | None, name: str = "pipeline-api") -> grpc.Channel:
    if credentials is None:
        return grpc.insecure_channel(f"127.0.0.1:{port}")
    return grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=[("grpc.ssl_target_name_override", name)])


def _mutual(certs, ca: str = "ours", name: str = "gateway") -> grpc.ChannelCredentials:
    ca_file, cert, key = _files(certs, ca, name)
    trusted = open(_files(certs, "ours", "pipeline")[0], "rb").read()  # we always trust our own CA
    return grpc.ssl_channel_credentials(trusted, open(key, "rb").read(), open(cert, "rb").read())


def _check(channel: grpc.Channel):
    with channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)


def test_a_service_with_tls_answers_a_client_with_a_certificate_of_its_ca(tls_pipeline, certs):
    grpc_port, health_port = tls_pipeline
    assert _check(_channel(grpc_port, _mutual(certs))).status == health_pb2.HealthCheckResponse.SERVING
    with _channel(grpc_port, _mutual(certs)) as channel:  # a real API call reaches the service's interceptor
        with pytest.raises(grpc.RpcError) as err:
            pgrpc.PipelineServiceStub(channel).ListFunnels(ppb.ListFunnelsRequest(), timeout=3)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # its liveness is the gRPC health Check on its own port, over TLS with its own certificate
    status, body = _get(health_port, "/healthz")
    assert (status, body["checks"]) == (200, {"grpc": True})
    assert _get(health_port, "/readyz")[0] == 200


@pytest.mark.parametrize("client", ["no certificate", "another CA's certificate", "plaintext",
                                    "the wrong server name"])
def test_the_handshake_refuses(tls_pipeline, certs, client):
    grpc_port, _ = tls_pipeline
    trusted = open(_files(certs, "ours", "pipeline")[0], "rb").read()
    channel = {"no certificate": lambda: _channel(grpc_port, grpc.ssl_channel_credentials(trusted)),
               "another CA's certificate": lambda: _channel(grpc_port, _mutual(certs, "theirs")),
               "plaintext": lambda: _channel(grpc_port, None),
               "the wrong server name": lambda: _channel(grpc_port, _mutual(certs), "identity-api")}[client]()
    with pytest.raises(grpc.RpcError) as err:
        _check(channel)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value


def test_the_gateway_calls_services_over_mutual_tls(tls_pipeline, certs, keys):
    from crm_gateway.app import create_app
    from crm_gateway.config import GatewaySettings
    from crm_platform.rpc import configure_tls

    grpc_port, _ = tls_pipeline
    ca, cert, key = _files(certs, "ours", "gateway")
    try:
        app = create_app(GatewaySettings(identity_addr=f"127.0.0.1:{free_port()}", auth_public_key=keys["access_public"],
                                         pipeline_addr=f"127.0.0.1:{grpc_port}", grpc_tls_ca=ca, grpc_tls_cert=cert,
                                         grpc_tls_key=key))
        body = app.test_client().get("/readyz").get_json()
        assert body["services"] == {"identity": "not_serving", "pipeline": "serving"}
    finally:
        configure_tls(None)  # this test process's other channels stay plaintext
    plain = create_app(GatewaySettings(identity_addr=f"127.0.0.1:{free_port()}", auth_public_key=keys["access_public"],
                                       pipeline_addr=f"127.0.0.1:{grpc_port}"))
    assert plain.test_client().get("/readyz").get_json()["services"]["pipeline"] == "not_serving"


def _start(tmp_path, keys, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_pipeline", "api"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=_env(tmp_path, keys, free_port(), 0, **env))


def test_plaintext_outside_loopback_is_refused_unless_development(tmp_path, keys, certs):
    refused = _start(tmp_path, keys, PIPELINE_GRPC_BIND="0.0.0.0:1")
    assert refused.returncode == 2
    assert "PIPELINE_GRPC_BIND=0.0.0.0:1 is outside loopback but gRPC has no TLS" in refused.stderr
    ca, cert, _ = _files(certs, "ours", "pipeline")
    half = _start(tmp_path, keys, GRPC_TLS_CA=ca, PIPELINE_GRPC_TLS_CERT=cert)
    assert half.returncode == 2 and "PIPELINE_GRPC_TLS_KEY must be set" in half.stderr


def test_the_container_probe_speaks_the_containers_mutual_tls(tls_pipeline, certs):
    """deploy/probe.py grpc, run with the process's own environment (its certificate), checks it over TLS."""
    grpc_port, _ = tls_pipeline
    ca, cert, key = _files(certs, "ours", "pipeline")
    env = {k: v for k, v in os.environ.items() if "GRPC_TLS" not in k}
    probe = [sys.executable, str(ROOT / "deploy" / "probe.py"), "grpc", f"127.0.0.1:{grpc_port}"]
    tls = subprocess.run(probe, env={**env, "GRPC_TLS_CA": ca, "PIPELINE_GRPC_TLS_CERT": cert,
                                     "PIPELINE_GRPC_TLS_KEY": key}, capture_output=True, text=True, timeout=30)
    assert tls.returncode == 0, tls.stderr
    plain = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30)
    assert plain.returncode == 1 and "UNAVAILABLE" in plain.stderr
