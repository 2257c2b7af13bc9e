"""The HTTP and gRPC load scenarios of the goals: the card, creating deals, lists by stage (first and deep
pages, the board), the bulk responsibility change."""

from __future__ import annotations

import json
import time
import urllib.parse

import lib
from common import log

# A stage's page of deals after a cursor as records' keyset_page writes it (`cond`: the cursor's condition).
DEAL_PAGE = ("SELECT * FROM deals WHERE company_id = %s AND deleted = false AND stage_id = %s AND {cond} "
             "ORDER BY created_at DESC, id DESC LIMIT {limit}")


class Scenarios:
    """Mixed into the bench (system.System)."""

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
        with lib.CpuMeter(self.stack) as cpu:
            http_first = self.wrk(q, token=self.token)
        http_first["cpu_ms_per_request"] = cpu.per_request_ms(http_first["requests"])
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
        co = self.big["company_id"]
        rows = self.sql("SELECT created_at, id FROM deals WHERE company_id = %s AND deleted = false AND "
                        "stage_id = %s ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
                        (co, stage, (page - 1) * 50 - 1))
        if not rows:
            return {}
        v, r = rows[0]
        return {name: self.explain(DEAL_PAGE.format(cond=cond, limit=51), (co, stage, *args))
                for name, cond, args in (("or_form", "(created_at < %s OR (created_at = %s AND id < %s))", (v, v, r)),
                                         ("row_form", "(created_at, id) < (%s, %s)", (v, r)))}

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


    def card_once(self, runs: int | None = None, seconds: int | None = None) -> dict:
        return lib.wrk_runs(runs or self.runs, url=self.url, seconds=seconds or self.seconds, tmp=self.tmp,
                            paths=self.card_paths(), token=self.token)
