"""Measuring tools of `make bench`: wrk runs, percentiles, process memory, py-spy profiles."""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import threading
import time

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = ROOT / ".venv" / "bin" / "python"
PY_SPY = ROOT / ".venv" / "bin" / "py-spy"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary(samples: list[float]) -> dict:
    """Median of several runs and their spread (min, max)."""
    samples = [x for x in samples if x == x]
    if not samples:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "runs": []}
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "runs": samples}


def wrk(url: str, *, seconds: int, connections: int = 16, threads: int = 2, token: str = "", method: str = "GET",
        body: str | None = None, paths: list[str] | None = None, tmp: pathlib.Path) -> dict:
    """One wrk run; returns rps, p50/p90/p99 in ms, error counts."""
    env = {**os.environ, "WRK_TOKEN": token, "WRK_METHOD": method}
    tmp.mkdir(parents=True, exist_ok=True)
    if body is not None:
        (tmp / "wrk_body.json").write_text(body)
        env["WRK_BODY_FILE"] = str(tmp / "wrk_body.json")
    if paths:
        (tmp / "wrk_paths.txt").write_text("\n".join(paths) + "\n")
        env["WRK_PATHS_FILE"] = str(tmp / "wrk_paths.txt")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(BENCH / "wrk.lua"), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures: {out.stdout}\n{out.stderr}")
    r = json.loads(line[len("BENCH_JSON "):])
    errors = r["errors_status"] + r["errors_connect"] + r["errors_read"] + r["errors_write"] + r["errors_timeout"]
    ok = r["requests"] - r["errors_status"]
    return {"rps": ok / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000,
            "p99_ms": r["p99_us"] / 1000, "max_ms": r["max_us"] / 1000, "requests": r["requests"],
            "errors": errors, "errors_status": r["errors_status"]}


def wrk_runs(n: int, **kw) -> dict:
    """`n` wrk runs; the median and spread of throughput and of p50/p99."""
    runs = [wrk(**kw) for _ in range(n)]
    return {"rps": summary([r["rps"] for r in runs]), "p50_ms": summary([r["p50_ms"] for r in runs]),
            "p99_ms": summary([r["p99_ms"] for r in runs]), "errors": sum(r["errors"] for r in runs),
            "requests": sum(r["requests"] for r in runs), "raw": runs}


# ---- processes and memory ------------------------------------------------------------------------------
def children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in parents.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def rss_mb(pid: int) -> float:
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def process_table(stack) -> dict[str, int]:
    """name -> pid of every OS process of the stack (gunicorn workers as gateway/worker-N)."""
    table = {}
    for name, proc in list(stack.running.items()):
        if proc.poll() is not None:
            continue
        table[name] = proc.pid
        for i, c in enumerate(sorted(children(proc.pid))):
            table[f"{name}/child-{i + 1}"] = c
    return table


class MemorySampler:
    """Sample the RSS of every process of the stack; keep the peak of each."""

    def __init__(self, stack, interval: float = 0.5):
        self.stack, self.interval = stack, interval
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> dict[str, float]:
        return {name: rss_mb(pid) for name, pid in process_table(self.stack).items()}

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, mb in self.snapshot().items():
                self.peak[name] = max(self.peak.get(name, 0.0), mb)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/<pid>/stat)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuMeter:
    """CPU seconds each process of the stack spends while the block runs (gateway workers summed)."""

    def __init__(self, stack):
        self.stack = stack
        self.used: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, pid in process_table(self.stack).items():
            key = name.split("/")[0]
            out[key] = out.get(key, 0.0) + cpu_seconds(pid)
        return out

    def __enter__(self):
        self._start = self._read()
        return self

    def __exit__(self, *exc):
        end = self._read()
        self.used = {k: end[k] - self._start.get(k, 0.0) for k in end}

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """CPU milliseconds per request of each process, largest first."""
        return dict(sorted(((k, v * 1000 / max(1, requests)) for k, v in self.used.items() if v > 0),
                           key=lambda kv: -kv[1]))


# ---- profiles --------------------------------------------------------------------------------------------
def profile(pid: int, seconds: int, out: pathlib.Path) -> subprocess.Popen | None:
    """Start `py-spy record` (raw collapsed stacks) on `pid` in the background, or None without py-spy."""
    if not PY_SPY.exists():
        return None
    return subprocess.Popen([str(PY_SPY), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
                             "--format", "raw", "--nonblocking", "--idle", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def top_frames(path: pathlib.Path, within: str, n: int = 14) -> dict:
    """Read py-spy's collapsed stacks (recorded with --idle, so waiting shows too): of the samples whose
    stack passes through `within` (the request handler), the share of each function (inclusive and own),
    i.e. where a request's wall-clock time goes."""
    if not path.exists():
        return {"samples": 0, "inclusive": [], "own": []}
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        try:
            c = int(count)
        except ValueError:
            continue
        frames = [_short(f) for f in stack.split(";") if f]
        idx = next((i for i, f in enumerate(frames) if f.startswith(within)), None)
        if idx is None:
            continue
        frames = frames[idx:]
        total += c
        own[frames[-1]] = own.get(frames[-1], 0) + c
        for f in set(frames[1:]):
            inclusive[f] = inclusive.get(f, 0) + c

    def top(d):
        return [(k, round(100 * v / total, 1)) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:n]] if total else []
    return {"samples": total, "within": within, "inclusive": top(inclusive), "own": top(own)}


def _short(frame: str) -> str:
    """`func (path/to/site-packages/pkg/mod.py:12)` -> `func (pkg/mod.py)`."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{name} ({file})"


def wait(seconds: float) -> None:
    time.sleep(seconds)
