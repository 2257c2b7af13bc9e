"""The system under the bench: its databases, its processes (tools/stack.py, as `make run` starts them),
the data it is loaded with, and the helpers every measurement uses (wrk, SQL on records, a quiet system)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import pathlib
import platform
import shutil
import subprocess
import time
import uuid

import data
import lib
import stack as stack_mod
from common import PG_ADMIN, ROOT, log


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


class System:
    """The running system and its data; the measurements (floors, scenarios, automation) are mixed in."""

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
        return self._boot()

    def _boot(self) -> float:
        """Start every process on a new Stack; the seconds until the gateway says ready."""
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
        return self._boot()

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


    def grpc_records(self):
        import grpc

        from crm.records.v1 import records_service_pb2 as pb
        from crm.records.v1 import records_service_pb2_grpc as pbg

        channel = grpc.insecure_channel(self.env["RECORDS_GRPC_ADDR"])
        return channel, pbg.RecordsServiceStub(channel), pb


    def explain(self, query: str, params: tuple | dict = ()) -> list[str]:
        """EXPLAIN (ANALYZE, BUFFERS) of a query on records' database (PostgreSQL), one line a row."""
        import psycopg

        with psycopg.connect(self.records_dsn()) as c:
            return [x[0] for x in c.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params).fetchall()]

    # ---- a quiet system -----------------------------------------------------------------------------
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
