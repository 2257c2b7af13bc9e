"""The automation's figures: event->task latency of stage changes through the gateway (with the broker's
latency beside them), and 500 events/s into two automation replicas."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import os
import threading
import time
import uuid

import data
import lib
from common import log
from probe import BrokerProbe


class Automation:
    """Mixed into the bench (system.System)."""

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
