"""deploy/probe.py, the health probe every container uses (compose health checks, exec probes): gRPC
health, HTTP status and TCP against real servers."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "probe.py"), *args], capture_output=True,
                          text=True, timeout=30)


def test_probe_grpc_health():
    from concurrent import futures

    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        out = _probe("grpc", f"127.0.0.1:{port}")
        assert out.returncode == 1 and "NOT_SERVING" in out.stderr
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        assert _probe("grpc", f"127.0.0.1:{port}").returncode == 0
    finally:
        server.stop(0)
    assert _probe("grpc", f"127.0.0.1:{port}").returncode == 1  # nothing listens any more


def test_probe_http_and_tcp():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/healthz" else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        assert _probe("http", f"http://127.0.0.1:{port}/healthz").returncode == 0
        out = _probe("http", f"http://127.0.0.1:{port}/readyz")
        assert out.returncode == 1 and "503" in out.stderr
        assert _probe("tcp", f"127.0.0.1:{port}").returncode == 0
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert _probe("tcp", f"127.0.0.1:{port}").returncode == 1
    assert _probe("nonsense", "x").returncode == 2
