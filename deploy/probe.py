"""Health probe shipped in the image (docker-compose health checks, Kubernetes exec probes).

    python deploy/probe.py grpc HOST:PORT [SERVICE]   # grpc.health.v1 Check == SERVING
    python deploy/probe.py http URL                    # HTTP 200
    python deploy/probe.py tcp HOST:PORT               # the port accepts a connection

Exit 0 when healthy, 1 otherwise (with the reason on stderr).
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

    with grpc.insecure_channel(target) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                             timeout=TIMEOUT)
        except grpc.RpcError as exc:
            return f"{target}: {exc.code().name}"
    if resp.status != health_pb2.HealthCheckResponse.SERVING:
        return f"{target}: {health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)}"
    return None


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
