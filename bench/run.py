"""`make bench`: the system against its own floors, side by side in one run (issue 10).

Starts every Procfile process as `make run` does (tools/stack.py, free ports, data under
var/bench), on PostgreSQL when it answers at 127.0.0.1:5432 (fresh `crm_bench_*` databases,
dropped afterwards unless --keep), loads 1,000,000 deals in one company plus a few small
companies, measures the floors (A bare Flask under the gateway's gunicorn configuration,
B grpc.health.v1 Check, C broker produce->consume, D primary-key SELECT) and the goals, and
writes the figures to var/bench/results.json and docs/benchmarks.md (bench/report.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as _dt
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tools"))

import data  # noqa: E402
import lib  # noqa: E402
import report  # noqa: E402
import stack as stack_mod  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AUTOMATION_GROUP = "automation.record-triggers"
# The request handler's frame in each profiled process: profiles are read from there down.
WITHIN = {"gateway": "Flask.wsgi_app (flask/app.py)", "records": "_call_behavior (grpc/_server.py)",
          "automation": "IdempotentConsumer.run (crm_platform/messaging.py)"}
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[bench {time.monotonic() - T0:6.0f}s] {msg}", flush=True)


class BrokerProbe:
    """The broker's produce->consume latency as the services see it: the services' producer
    (`make_producer`) sends a message with its send time every `every` s (`count` of them, or until
    the block ends), a consumer with automation's settings reads them back on a thread of its own.
    Alone it is floor C; beside a load it is the broker's latency under that load, in the same run."""

    CLIENT = ("kafka-python with the services' producer (make_producer) and automation's consumer settings "
              "(fetch wait 100 ms)")

    def __init__(self, boot: str, every: float = 0.01, count: int | None = None):
        self.boot, self.every, self.count = boot, every, count
        self.got: dict[int, float] = {}
        self.stop, self.sent = threading.Event(), threading.Event()
        self.n = 0

    def __enter__(self) -> "BrokerProbe":
        from kafka import KafkaConsumer, TopicPartition
        from kafka.admin import KafkaAdminClient, NewTopic

        from crm_platform.messaging import FETCH_MAX_WAIT_MS, make_producer

        topic = f"bench.probe.{uuid.uuid4().hex[:8]}"
        admin = KafkaAdminClient(bootstrap_servers=self.boot)
        admin.create_topics([NewTopic(topic, 1, 1)])
        admin.close()
        self.consumer = KafkaConsumer(bootstrap_servers=self.boot, enable_auto_commit=False,
                                      auto_offset_reset="earliest", max_poll_records=200,
                                      fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        tp = TopicPartition(topic, 0)
        self.consumer.assign([tp])
        self.consumer.seek_to_beginning(tp)
        self.consumer.poll(timeout_ms=500)
        self.producer = make_producer(self.boot)

        def consume():
            while not self.stop.is_set():
                for recs in self.consumer.poll(timeout_ms=200).values():
                    now = time.perf_counter_ns()
                    for r in recs:
                        self.got[int(r.key)] = (now - int(r.value)) / 1e6

        def produce():
            start = time.perf_counter()
            while not self.sent.is_set() and (self.count is None or self.n < self.count):
                self.producer.send(topic, key=str(self.n).encode(), value=str(time.perf_counter_ns()).encode())
                self.n += 1
                time.sleep(max(0.0, start + self.n * self.every - time.perf_counter()))
            self.sent.set()

        self.threads = [threading.Thread(target=consume, daemon=True), threading.Thread(target=produce, daemon=True)]
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sent.set()
        self.threads[1].join()
        self.producer.flush()
        deadline = time.monotonic() + 20
        while len(self.got) < self.n and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stop.set()
        self.threads[0].join()
        self.consumer.close()
        self.producer.close()

    @property
    def latencies(self) -> list[float]:
        return list(self.got.values())


class Autovacuum(threading.Thread):
    """What autovacuum does, for the bench's databases, when the server runs with `autovacuum = off`
    (this machine's shared PostgreSQL does; PostgreSQL's default, and the production images', is on).

    Every `every` seconds each table is looked at with autovacuum's default thresholds and cost limit:
    VACUUM when its dead rows exceed 50 + 20 % of its rows, or the rows inserted since its last vacuum
    1,000 + 20 %; ANALYZE when the rows changed since its last analyze exceed 50 + 10 %. (Autovacuum
    looks every 60 s; the bench's runs are shorter.) Without it, dead rows pile up in the tables the
    bench changes (each bulk change leaves 20,000 in deals and clients, each published event one in
    the outbox) and every later statement wades through them; without statistics the planner expects
    one row for the leading columns of a composite index, and lookups on the tables the automation
    grows (idempotency keys, processed events, runs) scan a whole company's prefix."""

    THRESHOLDS = """
        SELECT s.relname,
               s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
                 OR s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0) AS vacuum,
               s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) AS analyze
          FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"""
    COMMANDS = {(True, True): "VACUUM (ANALYZE)", (True, False): "VACUUM", (False, True): "ANALYZE"}

    def __init__(self, names: list[str], every: float = 10.0):
        super().__init__(daemon=True, name="autovacuum")
        self.names, self.every, self.stop = names, every, threading.Event()
        self.vacuums = self.analyzes = 0

    @staticmethod
    def needed() -> bool:
        import psycopg

        with psycopg.connect(PG_ADMIN) as conn:
            return conn.execute("SHOW autovacuum").fetchone()[0] == "off"

    def run(self) -> None:
        import psycopg

        while not self.stop.wait(self.every):
            for name in self.names:
                try:
                    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}", autocommit=True) as c:
                        # autovacuum's cost-based throttle (autovacuum_vacuum_cost_delay / _limit defaults)
                        c.execute("SET vacuum_cost_delay = '2ms'")
                        c.execute("SET vacuum_cost_limit = 200")
                        for table, vacuum, analyze in c.execute(self.THRESHOLDS).fetchall():
                            if self.stop.is_set():
                                return
                            command = self.COMMANDS.get((vacuum, analyze))
                            if command:
                                c.execute(f'{command} "{table}"')
                                self.vacuums += vacuum
                                self.analyzes += analyze
                except Exception as exc:  # noqa: BLE001 - a database being dropped at the end
                    log(f"  autovacuum {name}: {exc}")


def postgres_up() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except Exception:  # noqa: BLE001
        return False


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    mem = next((int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem / 1024 / 1024, 1),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "python": platform.python_version(), "load_before": os.getloadavg(),
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0:1]}


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.runs = 3 if not self.quick else 2
        self.seconds = args.seconds or (5 if self.quick else 10)
        self.var = pathlib.Path(args.var).resolve()
        self.tmp = self.var / "tmp"
        self.results: dict = {"machine": machine(), "quick": self.quick, "floors": {}, "goals": {}, "tuning": {},
                              "profiles": {}, "memory": {}, "notes": []}
        self.pg = postgres_up() and not args.sqlite
        self.stack = None
        self.state_file = self.var / "state.json"

    # ---- system -------------------------------------------------------------------------------------
    def databases(self) -> dict[str, str]:
        if not self.pg:
            return {}
        import psycopg

        state = self._state()
        names = state.get("databases") if state else None
        if not names:
            tag = uuid.uuid4().hex[:6]
            names = {svc: f"crm_bench_{svc}_{tag}" for svc in stack_mod.SERVICES}
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                for name in names.values():
                    conn.execute(f'CREATE DATABASE "{name}"')
        self.db_names = names
        return {svc: f"postgresql+psycopg://postgres@127.0.0.1:5432/{n}" for svc, n in names.items()}

    def drop_databases(self) -> None:
        if not self.pg or self.args.keep:
            return
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in self.db_names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.state_file.unlink(missing_ok=True)

    def _state(self) -> dict | None:
        """The data of a previous `--keep` run, when its databases are still there with as many deals."""
        if not self.state_file.exists() or not self.pg:
            return None
        state = json.loads(self.state_file.read_text())
        if state.get("deals") != self.args.deals:
            return None
        try:
            import psycopg

            with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{state['databases']['records']}") as c:
                n = c.execute("SELECT count(*) FROM deals WHERE company_id = %s",
                              (state["big"]["company_id"],)).fetchone()[0]
            return state if n >= self.args.deals else None
        except Exception:  # noqa: BLE001
            return None

    def start(self) -> float:
        if self.var.exists() and not self._state():
            shutil.rmtree(self.var)
        self.var.mkdir(parents=True, exist_ok=True)
        self.db_urls = self.databases()
        if self._state():
            self.purge_outbox()
        self.new_stack()
        started = time.monotonic()
        self.stack.start_all()
        self.stack.wait_ready(180)
        return time.monotonic() - started

    def purge_outbox(self) -> None:
        """Drop the events the services already published (kept 7 days for replay).

        The local broker forgets everything when it stops, and each outbox relay then re-publishes
        every retained event (by design, to refill a lost broker): after a restart with a previous
        run's data that is tens of thousands of old events for the consumers to skip, which would
        load the machine during the measurements. Called only while the system is stopped.
        """
        if not self.pg:
            return
        import psycopg

        for name in self.db_names.values():
            try:
                with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as c:
                    c.execute("DELETE FROM outbox WHERE published_at IS NOT NULL")
            except psycopg.Error:
                pass

    def new_stack(self) -> None:
        """A Stack on fresh free ports (ports freed by a stop may be taken by other runs on this machine)."""
        ports = stack_mod.free_ports()
        self.env = stack_mod.environment(self.var, ports=ports, database_urls=self.db_urls, extra={
            # Load comes from one IP and one company: the shipped per-IP/per-company limits would answer 429.
            "GATEWAY_IP_PER_MINUTE": "100000000", "GATEWAY_COMPANY_PER_MINUTE": "100000000",
            "GATEWAY_LOGIN_PER_IP_PER_MINUTE": "100000", "GATEWAY_SIGNUP_PER_IP_PER_MINUTE": "100000",
            "GATEWAY_BULK_PER_COMPANY_PER_MINUTE": "100000", "GATEWAY_LOGIN_PER_ACCOUNT_PER_MINUTE": "100000",
            "IDENTITY_LOGIN_PER_ACCOUNT_PER_MINUTE": "100000", "IDENTITY_LOGIN_PER_CALLER_PER_MINUTE": "100000",
            "IDENTITY_ACCESS_TOKEN_TTL_SECONDS": "14400", "LOG_LEVEL": "WARNING"})
        self.stack = stack_mod.Stack(self.env, log_dir=self.var / "log")

    def restart_all(self) -> float:
        self.stack.stop_all()
        self.purge_outbox()
        self.new_stack()
        started = time.monotonic()
        self.stack.start_all()
        self.stack.wait_ready(180)
        return time.monotonic() - started

    def restart(self, name: str, extra: dict[str, str] | None = None) -> None:
        self.stack.stop(name)
        time.sleep(0.5)
        self.stack.start(name, extra)
        self.stack.wait_ready(120)
        time.sleep(2)

    @property
    def url(self) -> str:
        return self.stack.gateway_url()

    def records_dsn(self) -> str:
        if self.pg:
            return f"postgresql://postgres@127.0.0.1:5432/{self.db_names['records']}"
        return str(self.var / "records.db")

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """A query on records' database (PostgreSQL `%s` placeholders; `?` on SQLite)."""
        if self.pg:
            import psycopg

            with psycopg.connect(self.records_dsn()) as c:
                return c.execute(query, params).fetchall()
        import sqlite3

        c = sqlite3.connect(self.records_dsn(), timeout=30)
        try:
            return c.execute(query.replace("%s", "?").replace("= ANY(?)", "IN (SELECT value FROM json_each(?))"),
                             tuple(json.dumps(p) if isinstance(p, list) else p for p in params)).fetchall()
        finally:
            c.close()

    # ---- data ---------------------------------------------------------------------------------------
    def load(self) -> None:
        state = self._state()
        http = data.Http(self.url)
        if state:
            log(f"reusing the loaded data of a previous --keep run ({self.args.deals} deals)")
            state["big"]["token"] = data.login(http, state["big"]["email"], state["big"]["password"])
            self.state = state
            self.results["load"] = {"deals": self.args.deals, "reused": True}
            return
        log("setting up companies through the API")
        big = data.setup_company(http, "Bench Big Co", users=9, extra_stages=True)
        smalls = []
        for i in range(3):
            co = data.setup_company(http, f"Bench Small {i}", users=2, extra_stages=False)
            api = http.as_user(co["token"])
            for j in range(20):
                api.call("POST", "/api/v1/deals", {"title": f"Small deal {j}", "amount": "1000"})
            smalls.append(co["company_id"])
        clients = max(1000, self.args.deals // 10)
        log(f"loading {self.args.deals} deals and {clients} clients with "
            f"{'COPY into PostgreSQL' if self.pg else 'executemany into SQLite'}")
        if self.pg:
            loaded = data.load_pg(self.records_dsn(), big, self.args.deals, clients, log)
        else:
            loaded = data.load_sqlite(self.records_dsn(), big, self.args.deals, clients, log)
        log(f"loaded in {loaded['load_seconds']:.0f} s")
        self.results["load"] = {"deals": self.args.deals, "clients": clients, "small_companies": len(smalls),
                                "seconds": loaded["load_seconds"], "reused": False,
                                "method": "COPY" if self.pg else "executemany"}
        self.state = {"deals": self.args.deals, "big": big, "sample": loaded["sample_deal_ids"],
                      "databases": getattr(self, "db_names", {})}
        if self.args.keep:
            self.state_file.write_text(json.dumps(self.state))

    @property
    def big(self) -> dict:
        return self.state["big"]

    @property
    def token(self) -> str:
        return self.big["token"]

    def deal_ids(self, stage: str, n: int, offset: int = 0) -> list[str]:
        rows = self.sql("SELECT id FROM deals WHERE company_id = %s AND deleted = %s AND stage_id = %s "
                        "ORDER BY created_at LIMIT %s OFFSET %s",
                        (self.big["company_id"], False, self.big["deal_stages"][stage], n, offset))
        return [r[0] for r in rows]

    def wrk(self, path: str = "", **kw) -> dict:
        return lib.wrk_runs(self.runs, url=self.url + path, seconds=self.seconds, tmp=self.tmp, **kw)

    # ---- floors -------------------------------------------------------------------------------------
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

    def grpc_records(self):
        import grpc

        from crm.records.v1 import records_service_pb2 as pb
        from crm.records.v1 import records_service_pb2_grpc as pbg

        channel = grpc.insecure_channel(self.env["RECORDS_GRPC_ADDR"])
        return channel, pbg.RecordsServiceStub(channel), pb

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

    # ---- goals --------------------------------------------------------------------------------------
    def card_paths(self) -> list[str]:
        return [f"/api/v1/deals/{i}" for i in self.state["sample"][:2000]]

    def goal_card(self) -> dict:
        with lib.CpuMeter(self.stack) as cpu:
            out = self.wrk(paths=self.card_paths(), token=self.token)
        out["cpu_ms_per_request"] = cpu.per_request_ms(out["requests"])
        # One connection: the latency of a card when nothing queues, and GetDeal alone inside records.
        out["one_connection"] = lib.wrk(url=self.url, seconds=5, connections=1, threads=1, tmp=self.tmp,
                                        paths=self.card_paths(), token=self.token)
        _, stub, pb = self.grpc_records()
        md = [("authorization", f"Bearer {self.token}"), ("x-request-id", "bench-card")]
        lat = []
        for deal_id in self.state["sample"][:300]:
            t = time.perf_counter()
            stub.GetDeal(pb.GetDealRequest(id=deal_id, history_limit=10), metadata=md, timeout=30)
            lat.append((time.perf_counter() - t) * 1000)
        out["grpc_get_deal"] = {"p50_ms": lib.pct(lat, 50), "p99_ms": lib.pct(lat, 99), "calls": len(lat)}
        return out

    def goal_create(self) -> dict:
        body = json.dumps({"title": "Bench deal", "amount": "150000.50",
                           "responsible_id": self.big["user_ids"][1]})
        with lib.CpuMeter(self.stack) as cpu:
            out = self.wrk("/api/v1/deals", method="POST", body=body, token=self.token)
        out["cpu_ms_per_request"] = cpu.per_request_ms(out["requests"])
        return out

    def goal_lists(self) -> dict:
        stage = self.big["deal_stages"]["Offer sent"]
        _, stub, pb = self.grpc_records()
        md = [("authorization", f"Bearer {self.token}"), ("x-request-id", "bench")]
        first = stub.ListDeals(pb.ListDealsRequest(stage_id=stage, limit=50), metadata=md, timeout=30)
        # Walk to page 1,000 by cursor (fewer pages when the stage holds fewer deals).
        in_stage = self.args.deals // 5
        target = max(2, min(1000, in_stage // 50 - 1))
        cursor, walk = first.next_cursor, []
        for _ in range(target - 2):
            t = time.perf_counter()
            page = stub.ListDeals(pb.ListDealsRequest(stage_id=stage, limit=50, cursor=cursor), metadata=md,
                                  timeout=30)
            walk.append((time.perf_counter() - t) * 1000)
            cursor = page.next_cursor
        deep_cursor = cursor
        calls = 100 if self.quick else 300

        def measure(**named) -> dict[str, dict]:
            """Each call's p50/p99 over `calls` calls a run; the calls take turns run by run, so whatever
            else the machine does meanwhile falls on all of them alike (page 1 and page 1,000 are compared)."""
            p50, p99 = {k: [] for k in named}, {k: [] for k in named}
            for _ in range(self.runs):
                for key, call in named.items():
                    lat = []
                    for _ in range(calls):
                        t = time.perf_counter()
                        call()
                        lat.append((time.perf_counter() - t) * 1000)
                    p50[key].append(lib.pct(lat, 50))
                    p99[key].append(lib.pct(lat, 99))
            return {k: {"p50_ms": lib.summary(p50[k]), "p99_ms": lib.summary(p99[k]), "calls_per_run": calls}
                    for k in named}

        def page(cur: str):
            def call():
                r = stub.ListDeals(pb.ListDealsRequest(stage_id=stage, limit=50, cursor=cur), metadata=md, timeout=30)
                assert len(r.deals) == 50
            return call

        def board_call():
            r = stub.GetBoard(pb.GetBoardRequest(funnel_id=self.big["deal_funnel"]), metadata=md, timeout=30)
            assert len(r.columns) > 1 and all(len(c.deals) == min(20, c.count) for c in r.columns)

        # The loads before (POST /deals) leave events for the relay and the automation to catch up on.
        self.wait_quiet()
        m = measure(first=page(""), deep=page(deep_cursor), board=board_call)
        grpc_first, grpc_deep, grpc_board = m["first"], m["deep"], m["board"]
        q = f"/api/v1/deals?stage_id={stage}&limit=50"
        http_first = self.wrk(q, token=self.token)
        http_deep = self.wrk(q + "&cursor=" + urllib.parse.quote(deep_cursor), token=self.token)
        # Two connections: a couple of users opening the board at once.
        board = self.wrk(f"/api/v1/board?funnel_id={self.big['deal_funnel']}", token=self.token, connections=2)
        time.sleep(10)
        plans = self.explain_deep(stage, target) if self.pg else {}
        return {"deep_page": target, "plans": plans, "deals_in_stage": in_stage, "grpc_first": grpc_first, "grpc_deep": grpc_deep,
                "walk_p50_ms": lib.pct(walk, 50), "walk_p99_ms": lib.pct(walk, 99),
                "http_first": http_first, "http_deep": http_deep, "board": board, "grpc_board": grpc_board}

    def explain_deep(self, stage: str, page: int) -> dict:
        """EXPLAIN ANALYZE of page `page`'s query as keyset_page writes it (a row comparison) and, for contrast,
        with the OR form it used before."""
        import psycopg

        co = self.big["company_id"]
        out = {}
        with psycopg.connect(self.records_dsn()) as c:
            row = c.execute("SELECT created_at, id FROM deals WHERE company_id = %s AND deleted = false AND "
                            "stage_id = %s ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
                            (co, stage, (page - 1) * 50 - 1)).fetchone()
            if not row:
                return {}
            v, r = row
            head = "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM deals WHERE company_id = %s AND deleted = false " \
                   "AND stage_id = %s AND "
            tail = " ORDER BY created_at DESC, id DESC LIMIT 51"
            for name, cond, args in (("or_form", "(created_at < %s OR (created_at = %s AND id < %s))", (v, v, r)),
                                     ("row_form", "(created_at, id) < (%s, %s)", (v, r))):
                plan = [x[0] for x in c.execute(head + cond + tail, (co, stage, *args)).fetchall()]
                out[name] = plan
        return out

    def goal_bulk(self) -> dict:
        import grpc

        _, stub, pb = self.grpc_records()
        md = [("authorization", f"Bearer {self.token}"), ("x-request-id", "bench-bulk")]
        n = 10_000 if not self.quick else 1_000
        secs, http_secs, http_status, quiet = [], [], [], []
        users = self.big["user_ids"]
        for run in range(self.runs + 1):  # the extra last run is profiled (py-spy slows it) and not counted
            ids = self.deal_ids("Negotiation", n, offset=run * n)
            quiet.append(self.wait_quiet())
            spy = lib.profile(self.stack.running["records"].pid, 180, self.var / "profile-bulk-records.txt") \
                if run == self.runs else None
            time.sleep(1 if spy else 0)
            t = time.perf_counter()
            r = stub.SetDealsResponsible(pb.SetDealsResponsibleRequest(ids=ids, responsible_id=users[run + 2],
                                                                        cascade=True), metadata=md, timeout=120)
            took = time.perf_counter() - t
            if not spy:
                secs.append(took)
            if spy:
                self.finish_profile(spy, "bulk:records", "profile-bulk-records.txt", "records")
            log(f"  bulk {len(ids)} deals (+{r.clients} clients) in {took:.2f} s" + (" (profiled)" if spy else ""))
        # Once through the gateway, as a user would (its own 2 s deadline to records applies).
        import requests

        ids = self.deal_ids("Negotiation", n, offset=(self.runs + 1) * n)
        quiet.append(self.wait_quiet())
        t = time.perf_counter()
        resp = requests.post(self.url + "/api/v1/deals/responsible", json={
            "ids": ids, "responsible_id": users[1], "cascade": True},
            headers={"Authorization": f"Bearer {self.token}"}, timeout=120)
        http_secs.append(time.perf_counter() - t)
        http_status.append(resp.status_code)
        del grpc
        return {"deals": n, "grpc_seconds": lib.summary(secs), "http_seconds": http_secs[0], "quiet_waits_s": quiet,
                "http_status": http_status[0], "http_body": resp.text[:300] if resp.status_code != 200 else ""}

    def create_process(self) -> str:
        api = data.Http(self.url, self.token)
        p = api.call("POST", "/api/v1/processes", {
            "name": "Bench: call on trigger stage", "type": "task",
            "trigger": {"event": "deal.stage_changed", "stage_id": self.big["deal_stages"][data.TRIGGER_STAGE]},
            "due": "next_day", "assignee": "responsible", "task_type": "call", "comment": "Bench follow-up"})
        return p["id"]

    def goal_automation_latency(self, process_id: str, pace: float | None = None, skip: int = 0) -> dict:
        """Event->task latency of stage changes made through the gateway: as fast as 8 clients can
        (`pace` None: the two cores saturated, so it measures queueing), or `pace` changes per second
        (a load the system keeps up with). `skip` deals of the source stage were moved by earlier calls."""
        import requests

        n = (200 if self.quick else 1000) // self.runs + 1
        trigger = self.big["deal_stages"][data.TRIGGER_STAGE]
        p50, p99, rate, client_rate = [], [], [], []
        relay, relay99, consume, consume99, broker50, broker99 = [], [], [], [], [], []
        for run in range(self.runs):
            ids = self.deal_ids("Qualified", n, offset=skip + run * n)
            local = threading.local()

            def move(deal_id: str) -> int:
                if not hasattr(local, "s"):
                    local.s = requests.Session()
                r = local.s.patch(f"{self.url}/api/v1/deals/{deal_id}", json={"stage_id": trigger},
                                  headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
                return r.status_code

            for f in ("profile-events-automation.txt", "profile-events-records.txt", "profile-bulk-records.txt"):
                (self.var / f).unlink(missing_ok=True)
            profiled = run == 0 and pace is None
            spy = lib.profile(self.stack.running["automation"].pid, 300, self.var / "profile-events-automation.txt") \
                if profiled else None
            spy2 = lib.profile(self.stack.running["records"].pid, 300, self.var / "profile-events-records.txt") \
                if profiled else None
            t = time.perf_counter()
            # the broker's own latency under this load, measured while the changes are made
            with BrokerProbe(self.env["KAFKA_BOOTSTRAP_SERVERS"], every=0.05) as probe, \
                    cf.ThreadPoolExecutor(8) as pool:
                if pace is None:
                    codes = list(pool.map(move, ids))
                else:
                    futures = []
                    for i, deal_id in enumerate(ids):
                        time.sleep(max(0.0, t + i / pace - time.perf_counter()))
                        futures.append(pool.submit(move, deal_id))
                    codes = [f.result() for f in futures]
                client_rate.append(n / (time.perf_counter() - t))
            broker50.append(lib.pct(probe.latencies, 50))
            broker99.append(lib.pct(probe.latencies, 99))
            bad = [c for c in codes if c != 200]
            if bad:
                log(f"  {len(bad)} stage changes answered {sorted(set(bad))}")
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                done = self.sql("SELECT count(*) FROM tasks WHERE process_id = %s AND deal_id = ANY(%s)",
                                (process_id, ids))[0][0]
                if done >= n - len(bad):
                    break
                time.sleep(0.5)
            if spy:
                self.finish_profile(spy, "events:automation", "profile-events-automation.txt", "automation")
            if spy2:
                self.finish_profile(spy2, "events:records", "profile-events-records.txt", "records")
            rows = self.sql("SELECT t.created_at, h.at FROM tasks t JOIN history h ON h.record_id = t.deal_id "
                            "AND h.entity = 'deal' AND h.action = 'stage_changed' "
                            "WHERE t.process_id = %s AND t.deal_id = ANY(%s)", (process_id, ids))
            lat = [(_dt_of(a) - _dt_of(b)).total_seconds() * 1000 for a, b in rows]
            if not lat:
                raise RuntimeError("no tasks were created by the process")
            # Where the time goes: records' outbox relay (created -> published), then broker + automation.
            legs = self.sql("SELECT o.created_at, o.published_at, t.created_at FROM outbox o JOIN tasks t "
                            "ON t.deal_id = o.aggregate_id AND t.process_id = %s "
                            "WHERE o.event_type LIKE '%%DealStageChanged' AND o.aggregate_id = ANY(%s) "
                            "AND o.published_at IS NOT NULL", (process_id, ids))
            relay.append(lib.pct([(_dt_of(b) - _dt_of(a)).total_seconds() * 1000 for a, b, _ in legs], 50))
            relay99.append(lib.pct([(_dt_of(b) - _dt_of(a)).total_seconds() * 1000 for a, b, _ in legs], 99))
            consume.append(lib.pct([(_dt_of(c) - _dt_of(b)).total_seconds() * 1000 for _, b, c in legs], 50))
            consume99.append(lib.pct([(_dt_of(c) - _dt_of(b)).total_seconds() * 1000 for _, b, c in legs], 99))
            firsts = [_dt_of(b) for _, b in rows]
            lasts = [_dt_of(a) for a, _ in rows]
            p50.append(lib.pct(lat, 50))
            p99.append(lib.pct(lat, 99))
            rate.append(len(rows) / max(0.001, (max(lasts) - min(firsts)).total_seconds()))
            log(f"  {len(rows)}/{n} tasks: p50 {p50[-1]:.0f} ms p99 {p99[-1]:.0f} ms, {rate[-1]:.0f} events/s; "
                f"broker meanwhile p50 {broker50[-1]:.0f} ms p99 {broker99[-1]:.0f} ms")
        return {"changes_per_run": n, "pace_per_s": pace, "p50_ms": lib.summary(p50), "p99_ms": lib.summary(p99),
                "events_per_s": lib.summary(rate), "gateway_changes_per_s": lib.summary(client_rate),
                "relay_p50_ms": lib.summary(relay), "relay_p99_ms": lib.summary(relay99),
                "consume_p50_ms": lib.summary(consume), "consume_p99_ms": lib.summary(consume99),
                "broker_p50_ms": lib.summary(broker50), "broker_p99_ms": lib.summary(broker99)}

    def automation_processed(self) -> int:
        """Events the automation consumers have applied (rows of its processed_events table).

        The lag is read from here rather than from the broker: Tansu's ListOffsets answers end
        offsets that do not match the records (and OffsetFetch through KafkaAdminClient fails to decode).
        """
        url = self.env["AUTOMATION_DATABASE_URL"]
        if url.startswith("postgresql"):
            import psycopg

            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as c:
                return c.execute("SELECT count(*) FROM processed_events").fetchone()[0]
        import sqlite3

        c = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return c.execute("SELECT count(*) FROM processed_events").fetchone()[0]
        finally:
            c.close()

    def wait_quiet(self, limit: float = 120) -> float:
        """Wait until records' relay has published every event and the automation consumers are idle (at
        most `limit` s): a bulk change's 20,000 events are the next measurement's load otherwise."""
        start = time.monotonic()
        while time.monotonic() - start < limit and \
                self.sql("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]:
            time.sleep(1)
        self.wait_automation_idle(max(4.0, limit - (time.monotonic() - start)))
        return time.monotonic() - start

    def wait_automation_idle(self, limit: float) -> float:
        """Wait until the automation consumers stop applying events (at most `limit` s); return the seconds."""
        start = time.monotonic()
        last = self.automation_processed()
        while time.monotonic() - start < limit:
            time.sleep(4)
            now = self.automation_processed()
            if now == last:
                break
            last = now
        return time.monotonic() - start

    def goal_automation_rate(self, process_id: str, memory: lib.MemorySampler) -> dict:
        from google.protobuf.timestamp_pb2 import Timestamp

        from crm.common.v1 import events_pb2 as common_pb2
        from crm.records.events.v1 import records_events_pb2 as rev
        rate = 500
        seconds = 15 if self.quick else 60
        self.stack.start_replica("automation", "automation-2")
        time.sleep(8)  # the second replica joins the group and the partitions are shared
        boot = self.env["KAFKA_BOOTSTRAP_SERVERS"]
        topic = "crm.records.deal.v1"
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=boot.split(","), linger_ms=5, acks=1)
        big = self.big
        trigger = big["deal_stages"][data.TRIGGER_STAGE]
        ids = self.state["sample"]
        samples = []
        tasks_before = self.sql("SELECT count(*) FROM tasks WHERE process_id = %s", (process_id,))[0][0]
        base = self.automation_processed()
        # Build every event first, so the generator is not the limit (protobuf building dominates it).
        events = []
        for i in range(rate * seconds):
            did = ids[i % len(ids)]
            ts = Timestamp()
            ts.GetCurrentTime()
            msg = rev.DealStageChanged(
                metadata=common_pb2.EventMetadata(event_id=str(uuid.uuid4()),
                                                  event_type="crm.records.events.v1.DealStageChanged",
                                                  occurred_at=ts, company_id=big["company_id"],
                                                  actor_id=big["admin_id"], aggregate_id=did,
                                                  request_id="bench-rate"),
                deal=rev.DealSnapshot(id=did, title="Bench", funnel_id=big["deal_funnel"], stage_id=trigger,
                                      stage_group_key="in_progress", responsible_id=big["user_ids"][1]),
                previous_stage_id=big["deal_stages"]["Qualified"], previous_funnel_id=big["deal_funnel"],
                previous_stage_group_key="in_progress", source=rev.CHANGE_SOURCE_USER)
            events.append((did.encode(), msg.SerializeToString(),
                           [("event_id", msg.metadata.event_id.encode()),
                            ("event_type", b"crm.records.events.v1.DealStageChanged"),
                            ("request_id", b"bench-rate")]))
        cpu = lib.CpuMeter(self.stack).__enter__()
        start = time.monotonic()
        sent = 0
        next_sample = start
        while time.monotonic() - start < seconds and sent < len(events):
            tick = time.monotonic()
            due = min(len(events), int((tick - start + 0.1) * rate))
            while sent < due:
                key, value, headers = events[sent]
                producer.send(topic, key=key, value=value, headers=headers)
                sent += 1
            if time.monotonic() >= next_sample:
                producer.flush()
                samples.append((round(time.monotonic() - start, 1), sent - (self.automation_processed() - base)))
                next_sample += 5
            time.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
        producer.flush()
        produced_s = time.monotonic() - start
        samples.append((round(time.monotonic() - start, 1), sent - (self.automation_processed() - base)))
        tasks_after = self.sql("SELECT count(*) FROM tasks WHERE process_id = %s", (process_id,))[0][0]
        cpu.__exit__(None, None, None)
        under_load_rss = dict(memory.peak)
        # Let the backlog go: switch the process off and give the consumers half a minute.
        data.Http(self.url, self.token).call("PATCH", f"/api/v1/processes/{process_id}", {"enabled": False})
        drain_start = time.monotonic()
        lag = samples[-1][1]
        while lag > 0 and time.monotonic() - drain_start < 30:
            time.sleep(3)
            lag = sent - (self.automation_processed() - base)
        producer.close()
        self.stack.stop("automation-2")
        lags = [lag for t, lag in samples if t >= seconds / 4]
        growth = _slope(samples[len(samples) // 4:])
        return {"target_rate": rate, "seconds": seconds, "produced": sent, "produced_per_s": sent / produced_s,
                "lag_samples": samples, "lag_slope_per_s": growth, "final_lag": samples[-1][1],
                "tasks_per_s": (tasks_after - tasks_before) / produced_s, "lag_after_drain": lag,
                "max_lag_after_warmup": max(lags) if lags else 0, "peak_rss": under_load_rss,
                "cpu_ms_per_task": cpu.per_request_ms(tasks_after - tasks_before),
                "cpu_busy_share": sum(cpu.used.values()) / produced_s / (os.cpu_count() or 1)}

    # ---- tuning -------------------------------------------------------------------------------------
    def card_once(self, runs: int | None = None, seconds: int | None = None) -> dict:
        return lib.wrk_runs(runs or self.runs, url=self.url, seconds=seconds or self.seconds, tmp=self.tmp,
                            paths=self.card_paths(), token=self.token)

    def finish_profile(self, spy: subprocess.Popen, key: str, file: str, within: str) -> None:
        """Stop a py-spy started with a long duration (SIGINT makes it write), read its top frames."""
        spy.send_signal(2)
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
        self.results["profiles"][key] = lib.top_frames(self.var / file, WITHIN[within])

    def profile_under(self, label: str, targets: dict[str, int], load) -> None:
        secs = max(4, self.seconds - 2)
        for name in targets:
            (self.var / f"profile-{label}-{name}.txt").unlink(missing_ok=True)
        procs = {name: lib.profile(pid, secs, self.var / f"profile-{label}-{name}.txt")
                 for name, pid in targets.items()}
        load()
        for name, p in procs.items():
            if p is None:
                continue
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                err = b"timeout"
            top = lib.top_frames(self.var / f"profile-{label}-{name}.txt", WITHIN[name.split("-")[0]])
            if not top["samples"]:
                top["error"] = (err or b"").decode(errors="replace")[-300:]
            self.results["profiles"][f"{label}:{name}"] = top

    def targets(self) -> dict[str, int]:
        table = lib.process_table(self.stack)
        out = {"records": self.stack.running["records"].pid}
        worker = next((pid for name, pid in table.items() if name.startswith("gateway/child")), None)
        if worker:
            out["gateway-worker"] = worker
        return out


def _dt_of(v) -> _dt.datetime:
    if isinstance(v, _dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=_dt.timezone.utc)
    t = _dt.datetime.fromisoformat(str(v))
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def _slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope (lag per second) of (t, lag) samples."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    ml = sum(v for _, v in samples) / n
    den = sum((t - mt) ** 2 for t, _ in samples)
    return sum((t - mt) * (v - ml) for t, v in samples) / den if den else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the CRM against its floors (issue 10)")
    parser.add_argument("--deals", type=int, default=None, help="deals of the big company (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 deals, 5 s wrk runs, 2 runs each")
    parser.add_argument("--seconds", type=int, default=0, help="length of one wrk run")
    parser.add_argument("--keep", action="store_true", help="keep the databases (a next --keep run reuses them)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite even when PostgreSQL answers")
    parser.add_argument("--report-only", action="store_true", help="rewrite docs/benchmarks.md from results.json")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--var", default=str(ROOT / "var" / "bench"), help="data, logs, profiles, results.json")
    args = parser.parse_args()
    if args.deals is None:
        args.deals = 20_000 if args.quick else 1_000_000
    results_file = pathlib.Path(args.var) / "results.json"
    if args.report_only:
        report.write(json.loads(results_file.read_text()), pathlib.Path(args.doc))
        return
    b = Bench(args)
    R = b.results
    autovacuum = None
    R["machine"]["database"] = "PostgreSQL" if b.pg else "SQLite"
    R["deals"] = args.deals
    try:
        log(f"starting the system ({R['machine']['database']})")
        R["goals"]["ready_cold_s"] = b.start()
        log(f"ready in {R['goals']['ready_cold_s']:.1f} s")
        b.load()
        if b.pg and Autovacuum.needed():
            autovacuum = Autovacuum(list(b.db_names.values()))
            autovacuum.start()
        time.sleep(5)
        sampler = lib.MemorySampler(b.stack)
        R["memory"]["idle"] = sampler.snapshot()

        log("floor A: bare Flask under the gateway's gunicorn configuration")
        R["floors"]["A"] = b.floor_a()
        log(f"  {R['floors']['A']['rps']['median']:.0f} req/s")
        log("floor B: grpc.health.v1 Check on records")
        R["floors"]["B"] = b.floor_b()
        log("floor C: broker produce->consume")
        R["floors"]["C"] = b.floor_c()
        log(f"  p99 {R['floors']['C']['p99_ms']['median']:.1f} ms")
        log("floor D: primary-key SELECT in records' database")
        R["floors"]["D"] = b.floor_d()

        with lib.MemorySampler(b.stack) as load_mem:
            log("goal 1: GET /deals/{id} at 16 connections")
            R["goals"]["card"] = b.goal_card()
            log(f"  {R['goals']['card']['rps']['median']:.0f} req/s p99 {R['goals']['card']['p99_ms']['median']:.0f} ms")
            process_id = b.create_process()
            R["goals"]["automation_backlog_before_s"] = b.wait_automation_idle(120)
            log("goal 4: automation event-to-task latency")
            R["goals"]["automation"] = b.goal_automation_latency(process_id)
            log(f"  p99 {R['goals']['automation']['p99_ms']['median']:.0f} ms; again at a steady 25 and 50 changes/s")
            moved = R["goals"]["automation"]["changes_per_run"] * b.runs
            for key, pace in (("automation_paced", 25), ("automation_paced50", 50)):
                b.wait_automation_idle(60)
                R["goals"][key] = b.goal_automation_latency(process_id, pace=pace, skip=moved)
                moved += R["goals"][key]["changes_per_run"] * b.runs
                log(f"  p99 {R['goals'][key]['p99_ms']['median']:.0f} ms at {pace} changes/s")
            log("goal 2: POST /deals")
            R["goals"]["create"] = b.goal_create()
            log(f"  {R['goals']['create']['rps']['median']:.0f} req/s")
            log("goal 3: lists by stage, first page and a deep page")
            R["goals"]["lists"] = b.goal_lists()
            log("profiles (py-spy) under the card, create and list loads")
            b.profile_under("card", b.targets(), lambda: b.card_once(1))
            b.profile_under("create", b.targets(), lambda: lib.wrk(
                url=b.url + "/api/v1/deals", seconds=b.seconds, tmp=b.tmp, method="POST", token=b.token,
                body=json.dumps({"title": "Bench deal", "amount": "1"})))
            b.profile_under("list", {"records": b.stack.running["records"].pid}, lambda: lib.wrk(
                url=b.url + f"/api/v1/deals?stage_id={b.big['deal_stages']['Offer sent']}&limit=50",
                seconds=b.seconds, tmp=b.tmp, token=b.token))
        R["memory"]["load"] = dict(load_mem.peak)

        log("tuning: gateway worker class and records' gRPC pool; scale-out 1 vs 2 workers")
        tune = R["tuning"]
        short, brief = (1, 5) if b.quick else (2, 6)
        b.restart("gateway", {"GATEWAY_WORKERS": "1"})
        tune["workers_1"] = b.card_once()
        tune["healthz_workers_1"] = lib.wrk_runs(short, url=b.url + "/healthz", seconds=brief, tmp=b.tmp)
        b.restart("gateway", {"GATEWAY_WORKERS": "2"})
        tune["workers_2"] = b.card_once()
        tune["healthz_workers_2"] = lib.wrk_runs(short, url=b.url + "/healthz", seconds=brief, tmp=b.tmp)
        b.restart("gateway", {"GATEWAY_WORKER_CLASS": "sync"})
        tune["sync_2"] = b.card_once(short, brief)
        b.restart("gateway", {"GATEWAY_THREADS": "4"})
        tune["gthread_2x4"] = b.card_once(short, brief)
        b.restart("gateway")
        for pool in (4, 64):
            b.restart("records", {"RECORDS_GRPC_WORKERS": str(pool)})
            tune[f"grpc_pool_{pool}"] = b.card_once(short, brief)
        b.restart("records")
        tune["grpc_pool_16"] = b.card_once(short, brief)

        log("goal 4: 500 events/s with two automation replicas")
        b.wait_automation_idle(60)
        with lib.MemorySampler(b.stack) as rate_mem:
            R["goals"]["automation_rate"] = b.goal_automation_rate(process_id, rate_mem)
        R["memory"]["events"] = dict(rate_mem.peak)
        log(f"  {R['goals']['automation_rate']['produced_per_s']:.0f} events/s produced, "
            f"{R['goals']['automation_rate']['tasks_per_s']:.1f} tasks/s, lag {R['goals']['automation_rate']['lag_samples']}")

        log("make run start-to-ready (a restart with the data in place also empties the broker's backlog)")
        ready = [b.restart_all()]
        log("goal 5: bulk responsibility change with cascade")
        with lib.MemorySampler(b.stack) as bulk_mem:
            R["goals"]["bulk"] = b.goal_bulk()
        for k, v in bulk_mem.peak.items():
            R["memory"]["load"][k] = max(v, R["memory"]["load"].get(k, 0.0))
        ready += [b.restart_all() for _ in range(1 if b.quick else 2)]
        R["goals"]["ready_warm_s"] = lib.summary(ready)
        time.sleep(5)
        R["memory"]["idle_after_restart"] = lib.MemorySampler(b.stack).snapshot()
    finally:
        if autovacuum is not None:
            autovacuum.stop.set()
            autovacuum.join(60)
            R["notes"].append(
                "The server runs with autovacuum off: the bench did its work on its databases (`Autovacuum` in "
                f"bench/run.py, PostgreSQL's default thresholds, looked every {autovacuum.every:.0f} s): "
                f"{autovacuum.vacuums} VACUUMs and {autovacuum.analyzes} ANALYZEs.")
        R["machine"]["load_after"] = os.getloadavg()
        R["elapsed_s"] = time.monotonic() - T0
        results_file.parent.mkdir(parents=True, exist_ok=True)
        results_file.write_text(json.dumps(R, indent=1, default=str))
        if b.stack:
            b.stack.stop_all()
        b.drop_databases()
    report.write(R, pathlib.Path(args.doc))
    log(f"done in {R['elapsed_s'] / 60:.1f} min; wrote {args.doc}")


if __name__ == "__main__":
    main()
