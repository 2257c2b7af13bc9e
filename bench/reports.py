"""The reports at volume (issue 28): the big company's deals with three years of stage changes in the reports'
read model, and the funnel and team reports over periods from this month to three years.

The read model of the 1,000,000 deals is written the way the deals are (COPY; executemany on SQLite), in the
columns records' migration creates: each deal (its id, amount and responsible) was created at a random time
of the last three years (at least 60 days ago) in the first stage, moved twice through the work stages a few
days apart, and then won (45 %), lost (40 %) or moved once more and still open (15 %): four stays and three
stage changes a deal, 3,000,000 changes in all. These histories are the reports' only: the deals' rows (and
so the board and the lists) keep the stages `data.load_pg` gave them. Their days (`report_days`) are summed
from the stays by records' own `report_feed.counts`, as the consumer sums them event by event.
"""

from __future__ import annotations

import datetime as _dt
import random
import time
import zoneinfo
from collections import Counter, defaultdict
from types import SimpleNamespace

import data
import lib
from browsing import _quoted
from common import log
from crm_records.domain import model
from crm_records.service_layer import report_feed
from crm_records.service_layer.reports import Period, ReportUseCases, _midnight, _years_later

# a deal's stages are distinct (no previous stay in the same stage or group): prev_* stay null
STAY_COLUMNS = ("deal_id", "funnel_id", "stage_id", "stage_group", "responsible_id", "entered_at", "left_at",
                "won_at", "amount", "deal_created_at", "created", "deleted", "company_id")
DEAL_COLUMNS = ("id", "funnel_id", "stage_group", "responsible_id", "amount", "created_at", "deleted", "company_id")
DAY_COUNTS = ("entries", "firsts", "firsts_won", "exits", "entries_won", "exits_won", "created", "reached")
HELD_COLUMNS = ("company_id", "funnel_id", "stage_id", "responsible_id", "stage_group", "held", "held_won",
                "held_amount")
DAY_COLUMNS = ("company_id", "funnel_id", "day", "stage_id", "responsible_id", "stage_group", *DAY_COUNTS,
               "reached_amount", "reached_days")
WEEK_COLUMNS = ("company_id", "funnel_id", "week", *DAY_COLUMNS[3:])
CALLS = 40  # sequential calls per period (the first one is not counted: it warms the caches)


def _periods(today: _dt.date) -> dict[str, tuple[str, str]]:
    quarter = (today.month - 1) // 3 * 3 + 1
    q_end = _dt.date(today.year, quarter, 1) - _dt.timedelta(days=1)
    q_start = _dt.date(q_end.year, (q_end.month - 1) // 3 * 3 + 1, 1)
    return {"this_month": (today.replace(day=1).isoformat(), today.isoformat()),
            "last_quarter": (q_start.isoformat(), q_end.isoformat()),
            "last_12_months": ((today - _dt.timedelta(days=365)).isoformat(), today.isoformat()),
            "three_years": ((_years_later(today, -3) + _dt.timedelta(days=1)).isoformat(), today.isoformat())}


def histories(co: dict, deals):
    """(deal row, its four stays) of each of `deals` (id, amount, responsible) of the company `co`."""
    rnd = random.Random(28)
    groups = co["stage_groups"]
    first = co["first_deal_stage"]
    work = [co["deal_stages"][n] for n in data.WORK_STAGES]
    won = next(s for s, g in groups.items() if g == "successful")
    lost = next(s for s, g in groups.items() if g == "failed")
    now = _dt.datetime.now(_dt.timezone.utc)
    span = 3 * 365 * 86400 - 60 * 86400
    for deal_id, amount, responsible in deals:
        created = now - _dt.timedelta(days=60, seconds=rnd.randrange(span))
        t1 = created + _dt.timedelta(hours=rnd.uniform(2, 120))
        t2 = t1 + _dt.timedelta(days=rnd.uniform(1, 20))
        t3 = t2 + _dt.timedelta(days=rnd.uniform(1, 30))
        a, b = rnd.sample(work, 2)
        fate = rnd.random()
        final = won if fate < 0.45 else lost if fate < 0.85 else next(w for w in work if w not in (a, b))
        path = [(first, created, t1, True), (a, t1, t2, False), (b, t2, t3, False), (final, t3, None, False)]
        won_at = t3 if final == won else None
        yield (deal_id, groups[final], responsible, amount, created), \
            [(stage, groups[stage], responsible, entered, left, won_at, amount, created, is_first)
             for stage, entered, left, is_first in path]


class Reports:
    """Mixed into the bench (system.System)."""

    def _histories(self, co: dict):
        return histories(co, self.sql("SELECT id, amount, responsible_id FROM deals WHERE company_id = %s "
                                      "ORDER BY id", (co["company_id"],)))

    def _writer(self):
        """(table, columns, rows) -> written: COPY on PostgreSQL, executemany on SQLite (in SQLAlchemy's text
        forms), in one connection; call it with no table to commit and analyze."""
        if self.pg:
            import psycopg

            conn = psycopg.connect(self.records_dsn())

            def write(table=None, columns=(), rows=()):
                if table is None:
                    conn.commit()
                    conn.autocommit = True
                    for t in ("report_deals", "report_stays", "report_days", "report_weeks", "report_held"):
                        conn.execute(f"VACUUM ANALYZE {t}")
                    conn.close()
                    return
                with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            return write
        import sqlite3

        conn = sqlite3.connect(self.records_dsn(), timeout=60)

        def text(v):
            if isinstance(v, _dt.datetime):
                return v.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
            return v.isoformat() if isinstance(v, _dt.date) else int(v) if isinstance(v, bool) else v

        def write(table=None, columns=(), rows=()):
            if table is None:
                conn.commit()
                conn.execute("ANALYZE")
                conn.close()
                return
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                             [tuple(text(v) for v in row) for row in rows])
        return write

    def wait_reports_idle(self, limit: float) -> float:
        """Wait until records' reports consumer stops applying events (the creates and moves of the goals
        before: each is a read-model write) so the reports are measured on a quiet system; the seconds."""
        start = time.monotonic()
        count = "SELECT count(*) FROM processed_events WHERE consumer = 'records.reports'"
        last = self.sql(count)[0][0]
        while time.monotonic() - start < limit:
            time.sleep(3)
            now = self.sql(count)[0][0]
            if now == last:
                break
            last = now
        return time.monotonic() - start

    def load_reports(self) -> dict:
        """The big company's read model (see the module's text), its days summed by records' own
        `report_feed.counts` of each stay; returns counts and seconds."""
        co, started = self.big, time.monotonic()
        zone = zoneinfo.ZoneInfo(model.DEFAULT_TIME_ZONE)  # the bench's companies keep identity's default
        write = self._writer()
        days: dict = defaultdict(Counter)
        deals = stays = 0
        rows_d, rows_s = [], []
        for (did, group, resp, amount, created), path in self._histories(co):
            rows_d.append((did, co["deal_funnel"], group, resp, amount, created, False, co["company_id"]))
            for stage, g, r, entered, left, won_at, money, made, first in path:
                rows_s.append((did, co["deal_funnel"], stage, g, r, entered, left, won_at, money, made, first, False,
                               co["company_id"]))
                stay = SimpleNamespace(deleted=False, won_at=won_at, entered_at=entered, left_at=left,
                                       prev_entered_at=None, prev_group_entered_at=None, created=first,
                                       stage_group=g, amount=money, deal_created_at=made, funnel_id=co["deal_funnel"],
                                       stage_id=stage, responsible_id=r)
                for key, values in report_feed.counts(stay, zone).items():
                    days[key].update(values)
            deals += 1
            stays += len(path)
            if deals % 100_000 == 0:
                write("report_deals", DEAL_COLUMNS, rows_d)
                write("report_stays", STAY_COLUMNS, rows_s)
                rows_d, rows_s = [], []
                log(f"  {deals} deals' histories written ({time.monotonic() - started:.0f} s)")
        write("report_deals", DEAL_COLUMNS, rows_d)
        write("report_stays", STAY_COLUMNS, rows_s)
        day_rows, week_rows, held = report_feed.roll_up(days)  # as the consumer writes them
        for table, columns, rows in (("report_days", DAY_COLUMNS, day_rows), ("report_weeks", WEEK_COLUMNS, week_rows)):
            write(table, columns, [(co["company_id"], funnel, span, stage, resp, group,
                                    *(int(v[c]) for c in DAY_COUNTS), int(v["reached_amount"]),
                                    float(v["reached_days"]))
                                   for (funnel, span, stage, group, resp), v in rows.items()])
        write("report_held", HELD_COLUMNS, [(co["company_id"], funnel, stage, resp, group, v["held"], v["held_won"],
                                             v["held_amount"]) for (funnel, stage, group, resp), v in held.items()])
        write()
        seconds = time.monotonic() - started
        log(f"  {deals} deals, {stays} stays, {len(days)} days in the reports' read model in {seconds:.0f} s")
        return {"deals": deals, "stays": stays, "stage_changes": stays - deals, "days": len(days), "seconds": seconds}

    def goal_reports(self) -> dict:
        """`GET /reports/funnel` and `/reports/team` one at a time over each period (p50, p99), the funnel
        report of the last quarter at 16 connections (CPU per request), and the plans of its days' queries."""
        import requests

        out: dict = {"calls": CALLS - 1, "periods": {}, "waited_s": self.wait_reports_idle(300)}
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token}"
        funnel = self.big["deal_funnel"]
        today = _dt.datetime.fromisoformat(
            s.get(self.url + "/api/v1/reports/funnel", timeout=60).json()["to"]).date()
        for name, (frm, to) in _periods(today).items():
            entry = {"from": frm, "to": to}
            for kind in ("funnel", "team"):
                path = f"/api/v1/reports/{kind}?" + _quoted({"funnel_id": funnel, "from": frm, "to": to})
                ms, answer = [], None
                for i in range(CALLS):
                    t = time.perf_counter()
                    r = s.get(self.url + path, timeout=60)
                    if i:
                        ms.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200:
                        raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
                    answer = r.json()
                entry[kind] = {"p50_ms": lib.pct(ms, 50), "p99_ms": lib.pct(ms, 99)}
                if kind == "funnel":
                    entry["figures"] = {"entered_first_stage": answer["stages"][0]["entered"],
                                        "created": answer["created"], "won": answer["won"], "lost": answer["lost"],
                                        "weeks": len(answer["weeks"])}
            out["periods"][name] = entry
            log(f"  {name}: funnel p99 {entry['funnel']['p99_ms']:.0f} ms, team p99 {entry['team']['p99_ms']:.0f} ms "
                f"({entry['figures']['entered_first_stage']:,} entered the first stage)")
        frm, to = out["periods"]["last_quarter"]["from"], out["periods"]["last_quarter"]["to"]
        out["wrk_last_quarter"] = self.wrk_paths(["/api/v1/reports/funnel?" + _quoted(
            {"funnel_id": funnel, "from": frm, "to": to})])
        out["stays"] = self.sql("SELECT count(*) FROM report_stays WHERE company_id = %s",
                                (self.big["company_id"],))[0][0]
        if self.pg:
            out["plan"] = self.explain_report(frm, to)
        return out

    def explain_report(self, frm: str, to: str) -> dict[str, list[str]]:
        """EXPLAIN ANALYZE of records' own statements of the stages' days (`ReportUseCases.day_statements`)."""
        from sqlalchemy.dialects import postgresql

        from crm_platform.context import Principal

        zone = zoneinfo.ZoneInfo(model.DEFAULT_TIME_ZONE)
        first, last = _dt.date.fromisoformat(frm), _dt.date.fromisoformat(to)
        period = Period(self.big["deal_funnel"], first, last, model.DEFAULT_TIME_ZONE, _midnight(first, zone),
                        _midnight(last + _dt.timedelta(days=1), zone))
        principal = Principal(company_id=self.big["company_id"], user_id=self.big["admin_id"])
        came, before, after = ReportUseCases.day_statements(ReportUseCases.__new__(ReportUseCases), principal,
                                                            period, "")
        out = {}
        for name, statements in (("period", came), ("before", before), ("after", after)):
            out[name] = []
            for stmt in statements:
                compiled = stmt.compile(dialect=postgresql.psycopg.dialect(),
                                        compile_kwargs={"render_postcompile": True})
                out[name] += self.explain(str(compiled), compiled.params)
        return out
