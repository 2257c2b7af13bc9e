"""The floors, measured in the same run with the same tools as the goals: A bare Flask under the gateway's
gunicorn configuration, B grpc.health.v1 Check, C broker produce->consume, D primary-key SELECT, E the design's
least request (HTTP + JWT + one gRPC call + one SELECT, bench/floor_e.py), A and E with their CPU per request."""

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

    def _gunicorn(self, app: str, extra_env: dict[str, str], check: str) -> tuple[subprocess.Popen, int]:
        """`app` (module:attribute under bench/) under the gateway's gunicorn configuration (with the bench's
        own worker settings) on a free port, once `check` answers (any HTTP status)."""
        import urllib.error
        import urllib.request

        port = stack_mod.free_port()
        env = {**os.environ, "GATEWAY_BIND": f"127.0.0.1:{port}",
               "PROMETHEUS_MULTIPROC_DIR": str(self.var / "metrics-floor"), **extra_env}
        pathlib.Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        for k in ("GATEWAY_WORKERS", "GATEWAY_WORKER_CLASS", "GATEWAY_THREADS"):
            if k in self.env:
                env[k] = self.env[k]
        out = open(self.var / "log" / f"floor_{app.split(':')[0]}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(ROOT / "gateway" /
                                 "gunicorn.conf.py"), "--chdir", str(BENCH), app], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{check}", timeout=1).read()
                return proc, port
            except urllib.error.HTTPError:
                return proc, port
            except OSError:
                if time.monotonic() > deadline:
                    _stop(proc)
                    raise
                time.sleep(0.2)

    def _measured(self, procs: list[subprocess.Popen], **wrk) -> dict:
        """wrk runs, with the CPU the floor's own processes (and their children) spent per request."""
        before = _tree_cpu(procs)
        out = lib.wrk_runs(self.runs, seconds=self.seconds, tmp=self.tmp, **wrk)
        out["cpu_ms_per_request"] = (_tree_cpu(procs) - before) * 1000 / max(1, out["requests"])
        return out

    def floor_a(self) -> dict:
        proc, port = self._gunicorn("floor_app:app", {}, "/floor")
        try:
            return self._measured([proc], url=f"http://127.0.0.1:{port}/floor")
        finally:
            _stop(proc)

    def floor_e(self) -> dict:
        """Floor E (bench/floor_e.py): HTTP + JWT verify + one raw gRPC call + one primary-key SELECT."""
        grpc_port = stack_mod.free_port()
        log_file = open(self.var / "log" / "floor_e_grpc.log", "ab")  # noqa: SIM115
        server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), str(BENCH / "floor_e.py"), "serve",
                                   str(grpc_port), self.records_dsn()], cwd=ROOT, stdout=log_file,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        procs = [server]
        try:
            import grpc
            import requests

            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                grpc.channel_ready_future(channel).result(timeout=30)
            http, port = self._gunicorn("floor_e:app", {"FLOOR_E_GRPC": f"127.0.0.1:{grpc_port}",
                                                        "FLOOR_E_PUBLIC_KEY": self.env["AUTH_PUBLIC_KEY"]},
                                        "/floor-e/deals/none")
            procs.append(http)
            paths = [f"/floor-e/deals/{i}" for i in self.state["sample"][:2000]]
            for path in paths[:20]:  # every worker connected before the measurement, and the answer checked
                r = requests.get(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {self.token}"},
                                 timeout=10)
                if r.status_code != 200 or r.json()["id"] != path.rsplit("/", 1)[1]:
                    raise RuntimeError(f"floor E answered {r.status_code} {r.text[:200]}")
            out = self._measured(procs, url=f"http://127.0.0.1:{port}", paths=paths, token=self.token)
            if out["errors"]:
                raise RuntimeError(f"floor E answered {out['errors']} errors (log: {self.var / 'log'})")
            return out
        finally:
            for p in procs:
                _stop(p)

    def idle_cpu(self, seconds: int) -> dict:
        """Each process's share of one core over `seconds` of nothing asked, after 10 s to settle; ours
        (every process but the broker, whose idle is Tansu's) summed."""
        time.sleep(10)
        with lib.CpuMeter(self.stack) as cpu:
            time.sleep(seconds)
        percent = {k: v * 100 / seconds for k, v in sorted(cpu.used.items(), key=lambda kv: -kv[1])}
        return {"seconds": seconds, "percent": percent,
                "ours_percent": sum(v for k, v in percent.items() if k != "broker")}

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


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, 15)
    proc.wait(20)


def _tree_cpu(procs: list[subprocess.Popen]) -> float:
    """CPU seconds used so far by `procs` and every descendant of theirs (gunicorn's workers)."""
    pids = [p.pid for p in procs]
    return sum(lib.cpu_seconds(pid) for root in pids for pid in [root, *lib.children(root)])
