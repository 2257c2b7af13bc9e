"""The floors, measured in the same run with the same tools as the goals: A bare Flask under the gateway's
gunicorn configuration, B grpc.health.v1 Check, C broker produce->consume, D primary-key SELECT."""

from __future__ import annotations

import os
import pathlib
import subprocess
import time

import lib
import stack as stack_mod
from common import BENCH, ROOT
from probe import BrokerProbe


class Floors:
    """Mixed into the bench (system.System): what our own code adds is read against these."""

    def floor_a(self) -> dict:
        port = stack_mod.free_port()
        env = {**os.environ, "GATEWAY_BIND": f"127.0.0.1:{port}",
               "PROMETHEUS_MULTIPROC_DIR": str(self.var / "metrics-floor")}
        pathlib.Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        for k in ("GATEWAY_WORKERS", "GATEWAY_WORKER_CLASS", "GATEWAY_THREADS"):
            if k in self.env:
                env[k] = self.env[k]
        out = open(self.var / "log" / "floor_a.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(ROOT / "gateway" /
                                 "gunicorn.conf.py"), "--chdir", str(BENCH), "floor_app:app"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            import urllib.request

            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/floor", timeout=1).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            return lib.wrk_runs(self.runs, url=f"http://127.0.0.1:{port}/floor", seconds=self.seconds, tmp=self.tmp)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(20)


    def floor_b(self) -> dict:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        channel = grpc.insecure_channel(self.env["RECORDS_GRPC_ADDR"])
        stub = health_pb2_grpc.HealthStub(channel)
        stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        p50, p99, rate = [], [], []
        for _ in range(self.runs):
            lat = []
            end = time.monotonic() + min(5, self.seconds)
            while time.monotonic() < end:
                t = time.perf_counter()
                stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
                lat.append((time.perf_counter() - t) * 1000)
            p50.append(lib.pct(lat, 50))
            p99.append(lib.pct(lat, 99))
            rate.append(len(lat) / min(5, self.seconds))
        channel.close()
        return {"p50_ms": lib.summary(p50), "p99_ms": lib.summary(p99), "calls_per_s": lib.summary(rate),
                "client": "Python grpcio client, one call at a time (ghz not installed)"}

    def floor_c(self) -> dict:
        n = 100 if self.quick else 300
        p50, p99 = [], []
        for run in range(self.runs):
            with BrokerProbe(self.env["KAFKA_BOOTSTRAP_SERVERS"], count=n) as probe:
                probe.sent.wait(60)
            p50.append(lib.pct(probe.latencies, 50))
            p99.append(lib.pct(probe.latencies, 99))
        return {"p50_ms": lib.summary(p50), "p99_ms": lib.summary(p99), "messages_per_run": n,
                "client": BrokerProbe.CLIENT}

    def floor_d(self) -> dict:
        ids = self.state["sample"][:2000]
        p50, p99, rate = [], [], []
        if self.pg:
            import psycopg

            conn = psycopg.connect(self.records_dsn(), autocommit=True, prepare_threshold=0)
            q = lambda i: conn.execute("SELECT * FROM deals WHERE id = %s", (i,)).fetchone()  # noqa: E731
        else:
            import sqlite3

            conn = sqlite3.connect(self.records_dsn())
            q = lambda i: conn.execute("SELECT * FROM deals WHERE id = ?", (i,)).fetchone()  # noqa: E731
        for _ in range(self.runs):
            lat = []
            t0 = time.perf_counter()
            for i in ids:
                t = time.perf_counter()
                q(i)
                lat.append((time.perf_counter() - t) * 1000)
            rate.append(len(ids) / (time.perf_counter() - t0))
            p50.append(lib.pct(lat, 50))
            p99.append(lib.pct(lat, 99))
        conn.close()
        return {"p50_ms": lib.summary(p50), "p99_ms": lib.summary(p99), "queries_per_s": lib.summary(rate),
                "client": "psycopg 3, prepared statement, one connection" if self.pg else "sqlite3"}
