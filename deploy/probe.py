"""Health probe shipped in the image (docker-compose health checks, Kubernetes exec probes).

    python deploy/probe.py grpc HOST:PORT [SERVICE]   # grpc.health.v1 Check == SERVING
    python deploy/probe.py http URL                    # HTTP 200
    python deploy/probe.py tcp HOST:PORT               # the port accepts a connection

Exit 0 when healthy, 1 otherwise (with the reason on stderr). `grpc` speaks the container's own mutual TLS
when its environment has it (`GRPC_TLS_CA` and one `<PREFIX>_GRPC_TLS_CERT` / `_KEY`, `crm_platform.tls`),
checking the server under the first DNS name of that certificate: the probe checks its own container's server.
"""

from __future__ import annotations

import socket
import sys
import urllib.error
import urllib.request

TIMEOUT = 3.0


def grpc_check(target: str, service: str = "") -> str | None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with _channel(target) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                             timeout=TIMEOUT)
        except grpc.RpcError as exc:
            return f"{target}: {exc.code().name}"
    if resp.status != health_pb2.HealthCheckResponse.SERVING:
        return f"{target}: {health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)}"
    return None


def _channel(target: str):
    """Plaintext, or the container's mutual TLS (its own certificate, the CA) when its environment names them."""
    import os

    import grpc

    ca = os.environ.get("GRPC_TLS_CA", "")
    certs = [v for k, v in os.environ.items() if k.endswith("_GRPC_TLS_CERT") and v]
    keys = [v for k, v in os.environ.items() if k.endswith("_GRPC_TLS_KEY") and v]
    if not (ca and len(certs) == 1 and len(keys) == 1):
        return grpc.insecure_channel(target)
    from cryptography import x509

    cert = open(certs[0], "rb").read()
    san = x509.load_pem_x509_certificate(cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    names = san.value.get_values_for_type(x509.DNSName)
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(open(ca, "rb").read(), open(keys[0], "rb").read(),
                                                                    cert),
                               options=[("grpc.ssl_target_name_override", names[0])] if names else [])


def http_check(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            return None if resp.status == 200 else f"{url}: HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except OSError as exc:
        return f"{url}: {exc}"


def tcp_check(target: str) -> str | None:
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT):
            return None
    except OSError as exc:
        return f"{target}: {exc}"


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("grpc", "http", "tcp"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, target, *rest = argv
    error = {"grpc": lambda: grpc_check(target, *rest[:1]), "http": lambda: http_check(target),
             "tcp": lambda: tcp_check(target)}[kind]()
    if error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
