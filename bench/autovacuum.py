"""Autovacuum's work on the bench's databases when the shared PostgreSQL server runs with it off."""

from __future__ import annotations

import threading

from common import PG_ADMIN, log


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
