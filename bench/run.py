"""`make bench`: the system against its own floors, side by side in one run (issue 10).

Starts every Procfile process as `make run` does (tools/stack.py, free ports, data under
var/bench), on PostgreSQL when it answers at 127.0.0.1:5432 (fresh `crm_bench_*` databases,
dropped afterwards unless --keep), loads 1,000,000 deals in one company plus a few small
companies, measures the floors (A bare Flask under the gateway's gunicorn configuration,
B grpc.health.v1 Check, C broker produce->consume, D primary-key SELECT) and the goals, and
writes the figures to var/bench/results.json and docs/benchmarks.md (bench/report.py).

The parts: system.py (databases, processes, data, a quiet system), floors.py, scenarios.py (card,
create, lists, board, bulk), browsing.py (the client picker's typeahead, a board column's next
page), automation.py (event->task latency and rate), profiles.py (py-spy), probe.py (the broker's
latency), autovacuum.py; data.py loads the data, lib.py measures, report.py writes the report.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402,F401 - first: puts tools/ on the path
import lib  # noqa: E402
import report  # noqa: E402
from automation import Automation  # noqa: E402
from autovacuum import Autovacuum  # noqa: E402
from browsing import Browsing  # noqa: E402
from common import ROOT, T0, log  # noqa: E402
from floors import Floors  # noqa: E402
from profiles import Profiles  # noqa: E402
from reports import Reports  # noqa: E402
from scenarios import Scenarios  # noqa: E402
from system import System  # noqa: E402


class Bench(System, Floors, Scenarios, Browsing, Automation, Profiles, Reports):
    """The system (system.System) with every measurement of the run."""


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
        log("the idle system: CPU of every process while nothing is asked (issue 26)")
        R["goals"]["idle"] = b.idle_cpu(20 if args.quick else 60)
        log(f"  our processes {R['goals']['idle']['ours_percent']:.1f} % of a core")
        b.load()
        if not R["load"].get("reused"):
            log("the reports' read model: three years of the big company's stage changes")
            R["load"]["reports"] = b.load_reports()
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
        log("floor E: HTTP + JWT verify + one raw gRPC call + one primary-key SELECT")
        R["floors"]["E"] = b.floor_e()
        log(f"  {R['floors']['E']['rps']['median']:.0f} req/s, {R['floors']['E']['cpu_ms_per_request']:.2f} ms CPU "
            "per request")

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
            log("goal 8: the client picker's typeahead, GET /clients?q=<prefix>&limit=20 at 16 connections")
            R["goals"]["typeahead"] = b.goal_typeahead()
            log(f"  {R['goals']['typeahead']['rps']['median']:.0f} req/s p99 "
                f"{R['goals']['typeahead']['p99_ms']['median']:.1f} ms")
            log("goal 8: a board column's next page, GET /deals?stage_id=&limit=20&cursor= at 16 connections")
            R["goals"]["board_more"] = b.goal_board_more()
            log(f"  {R['goals']['board_more']['rps']['median']:.0f} req/s p99 "
                f"{R['goals']['board_more']['p99_ms']['median']:.1f} ms")
            log("goal 10: the funnel and team reports over 1,000,000 deals' stage changes, one at a time (issue 28)")
            R["goals"]["reports"] = b.goal_reports()
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
                f"bench/autovacuum.py, PostgreSQL's default thresholds, looked every {autovacuum.every:.0f} s): "
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
