"""What a salesperson's screens ask at volume (issue 25): the client picker's typeahead and a board
column's "show more", through the gateway with wrk, as the web UI asks them."""

from __future__ import annotations

import random
import time
import urllib.parse

import data
import lib
from common import log
from scenarios import DEAL_PAGE

PICKER_LIMIT = 20  # web/src/pages/client_picker.tsx asks `limit: 20`
PER_COLUMN = 20  # web/src/pages/records.tsx: the board's `per_stage` and a column's next page
BIG_STAGE = 1000  # a column counts as big from this many deals


def _quoted(params: dict) -> str:
    """The query string as the web UI's `qs` writes it (URLSearchParams: empty values left out)."""
    return urllib.parse.urlencode({k: v for k, v in params.items() if v not in ("", None)})


class Browsing:
    """Mixed into the bench (system.System)."""

    def wrk_paths(self, paths: list[str]) -> dict:
        """wrk at 16 connections on random `paths` once the system is quiet, with p90 and CPU per request."""
        self.wait_quiet()
        with lib.CpuMeter(self.stack) as cpu:
            out = self.wrk(paths=paths, token=self.token)
        out["cpu_ms_per_request"] = cpu.per_request_ms(out["requests"])
        out["p90_ms"] = lib.summary([r["p90_ms"] for r in out["raw"]])
        return out

    # ---- the client picker's typeahead --------------------------------------------------------------
    def typeahead_queries(self, n: int = 1000) -> list[tuple[str, str]]:
        """(kind, text) a user types into the picker: half the start of an existing client's name (2 to 7
        characters: first name, then the surname's start), half the first 3 to 9 digits of a client's
        national number (records matches the phone's digits from three on)."""
        rows = self.sql("SELECT name, phone FROM clients WHERE company_id = %s AND deleted = %s ORDER BY id LIMIT %s",
                        (self.big["company_id"], False, n))
        rnd = random.Random(25)
        out = []
        for i, (name, phone) in enumerate(rows):
            if i % 2 == 0 or not phone:
                out.append(("name", name[:rnd.randint(2, 7)].strip()))
            else:
                out.append(("phone", phone.removeprefix("+998")[:rnd.randint(3, 9)]))
        return out

    @staticmethod
    def typeahead_path(text: str) -> str:
        return "/api/v1/clients?" + _quoted({"q": text, "limit": PICKER_LIMIT})

    def goal_typeahead(self) -> dict:
        """`GET /clients?q=<prefix>&limit=20` at 16 connections; before it, each query once at one connection
        (how many hits: fewer than a page means the search read every client of the company)."""
        import requests

        queries = self.typeahead_queries()
        paths = [self.typeahead_path(text) for _, text in queries]
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token}"
        once: dict[str, dict[str, list]] = {"name": {"ms": [], "hits": []}, "phone": {"ms": [], "hits": []}}
        wrong = []
        for kind, text in queries[:200]:
            t = time.perf_counter()
            r = s.get(self.url + self.typeahead_path(text), timeout=30)
            once[kind]["ms"].append((time.perf_counter() - t) * 1000)
            hits = len(r.json()["items"]) if r.status_code == 200 else 0
            once[kind]["hits"].append(hits)
            if not hits:  # each text is the start of an existing client's name or number
                wrong.append(f"{text!r}: {r.status_code} {r.text[:100]}")
        if wrong:
            log(f"  {len(wrong)} typeahead queries found nothing: {wrong[:3]}")
        out = self.wrk_paths(paths)
        out["clients"] = self.sql("SELECT count(*) FROM clients WHERE company_id = %s", (self.big["company_id"],))[0][0]
        out["queries"] = {kind: sum(1 for k, _ in queries if k == kind) for kind in once}
        out["one_connection"] = {kind: {"p50_ms": lib.pct(v["ms"], 50), "p99_ms": lib.pct(v["ms"], 99),
                                        "calls": len(v["ms"]),
                                        "short_pages": sum(1 for h in v["hits"] if h < PICKER_LIMIT)}
                                 for kind, v in once.items()}
        out["found_nothing"] = len(wrong)
        out["plans"] = self.explain_typeahead(queries) if self.pg else {}
        return out

    def explain_typeahead(self, queries: list[tuple[str, str]]) -> dict:
        """EXPLAIN ANALYZE of records' own ListClients statement (its `_listing` and `client_match`, in
        keyset_page's order) for a name's start, a phone's first 5 digits and a whole national number."""
        from sqlalchemy.dialects import postgresql

        from crm_platform.context import Principal
        from crm_records.adapters.orm import Client
        from crm_records.service_layer.deals import client_match
        from crm_records.service_layer.kinds import CLIENT
        from crm_records.service_layer.writes import RecordsBase

        name = next(text for kind, text in queries if kind == "name" and len(text) >= 3)[:3]
        phone = next(text for kind, text in queries if kind == "phone")
        number = self.sql("SELECT phone FROM clients WHERE company_id = %s AND phone LIKE %s LIMIT 1",
                          (self.big["company_id"], "+998" + phone[:3] + "%"))[0][0].removeprefix("+998")
        principal = Principal(company_id=self.big["company_id"], user_id=self.big["admin_id"])
        out = {}
        for key, text in (("name_3", name), ("phone_5", number[:5]), ("phone_9", number)):
            stmt = RecordsBase._listing(principal, CLIENT, False).where(client_match(text.strip().lower())) \
                .order_by(Client.created_at.desc(), Client.id.desc()).limit(PICKER_LIMIT + 1)
            compiled = stmt.compile(dialect=postgresql.psycopg.dialect())
            out[key] = {"q": text, "sql": str(compiled), "plan": self.explain(str(compiled), compiled.params)}
        return out

    # ---- a board column's next page -----------------------------------------------------------------
    def goal_board_more(self) -> dict:
        """A big column's "show more" as the board asks it (`GET /deals?stage_id=&limit=20&cursor=`), with
        the cursors of the columns of a real first board (`GET /board?funnel_id=&per_stage=20`)."""
        api = data.Http(self.url, self.token)
        board = api.call("GET", "/api/v1/board?" + _quoted({"funnel_id": self.big["deal_funnel"],
                                                           "per_stage": PER_COLUMN}))
        columns = [c for c in board["columns"] if c.get("next_cursor") and c["count"] >= BIG_STAGE]
        if not columns:
            raise RuntimeError("no board column holds more than a page")
        paths = ["/api/v1/deals?" + _quoted({"stage_id": c["stage"]["id"], "limit": PER_COLUMN,
                                             "cursor": c["next_cursor"]}) for c in columns]
        for c, path in zip(columns, paths):  # the column's next 20, none of them on the board already
            shown, page = {d["id"] for d in c["deals"]}, api.call("GET", path)["items"]
            if len(page) != PER_COLUMN or shown & {d["id"] for d in page}:
                log(f"  {path}: {len(page)} deals, {len(shown & {d['id'] for d in page})} of them on the board")
        out = self.wrk_paths(paths)
        out["columns"] = [{"stage": c["stage"].get("name", c["stage"]["id"]), "count": c["count"]} for c in columns]
        if self.pg:
            out["plan"] = self.explain_board_more(columns[0])
        log(f"  {len(columns)} big columns: " + ", ".join(f"{c['stage']} ({c['count']:,})" for c in out["columns"]))
        return out

    def explain_board_more(self, column: dict) -> list[str]:
        """EXPLAIN ANALYZE of a column's next page as keyset_page writes it, after the board's own cursor."""
        import datetime as _dt

        from crm_platform.pagination import decode_cursor

        created, row_id = decode_cursor(column["next_cursor"], "-created_at", _dt.datetime, str)
        return self.explain(DEAL_PAGE.format(cond="(created_at, id) < (%s, %s)", limit=PER_COLUMN + 1),
                            (self.big["company_id"], column["stage"]["id"], created, row_id))
