"""Real database outages for the fault suite: a PostgreSQL cluster of the test's own that it can stop and
start (never the shared one on 5432), and a SQLite database held under an exclusive lock."""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time

from tests.support.infra import free_port

PG_BINDIRS = ("/usr/lib/postgresql/15/bin",)


def pg_bindir() -> pathlib.Path | None:
    """Where initdb and pg_ctl are (pg_config's bindir, else the Debian path of PostgreSQL 15); None without."""
    candidates = list(PG_BINDIRS)
    with contextlib.suppress(OSError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if out:
            candidates.insert(0, out)
    for c in candidates:
        if (pathlib.Path(c) / "initdb").exists() and (pathlib.Path(c) / "pg_ctl").exists():
            return pathlib.Path(c)
    return None


class PgCluster:
    """A PostgreSQL cluster made with initdb on a temp dir and a free port, run as the postgres user."""

    def __init__(self, bindir: pathlib.Path):
        self.bindir = bindir
        self.top = pathlib.Path(tempfile.mkdtemp(prefix="crm-pg-"))  # outside pytest's root-only tmp tree
        self.top.chmod(0o755)
        self.data = self.top / "pg"
        self.data.mkdir()
        shutil.chown(self.data, "postgres")
        self.port = free_port()
        self.as_pg = ["runuser", "-u", "postgres", "--"]
        init = subprocess.run(self.as_pg + [str(bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                                            "-U", "postgres"], capture_output=True, text=True)
        assert init.returncode == 0, init.stdout + init.stderr
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _ctl(self, *args: str) -> None:
        subprocess.run(self.as_pg + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "120",
                                     "-l", str(self.data / "log"), *args,
                                     "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"],
                       check=True, capture_output=True)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        """A fast shutdown: sessions are ended, new connections refused until `start`."""
        self._ctl("stop", "-m", "fast")

    def destroy(self) -> None:
        subprocess.run(self.as_pg + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(self.top, ignore_errors=True)


class SqliteLock:
    """Hold `BEGIN EXCLUSIVE` on a SQLite database file (WAL mode: every writer waits, readers go on)."""

    def __init__(self, path: pathlib.Path | str):
        self.path = str(path)
        self.conn: sqlite3.Connection | None = None

    def start(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=60, check_same_thread=False)
        deadline = time.monotonic() + 120
        while True:  # a service's own write may hold the lock this instant
            try:
                self.conn.execute("BEGIN EXCLUSIVE")
                return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()
            self.conn = None


class Outage:
    """A service's database made unavailable for a while: `PgCluster.stop` or `SqliteLock`; `how` names it."""

    def __init__(self, service: str, how: str, down, up):
        self.service, self.how = service, how
        self._down, self._up = down, up
        self.began = self.ended = 0.0

    def begin(self) -> None:
        self._down()
        self.began = time.monotonic()

    def end(self) -> None:
        self._up()
        self.ended = time.monotonic()

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.began


def hold_for(outages: list[Outage], seconds: float, during=None) -> None:
    """Begin every outage, run `during()` (load) meanwhile, end them all once `seconds` have passed."""
    for o in outages:
        o.begin()
    try:
        worker = threading.Thread(target=during, daemon=True) if during else None
        if worker:
            worker.start()
        time.sleep(max(0.0, seconds - (time.monotonic() - min(o.began for o in outages))))
        if worker:
            worker.join(60)
    finally:
        for o in outages:
            o.end()
