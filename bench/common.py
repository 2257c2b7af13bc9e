"""What every module of `make bench` shares: its paths, the admin database, the clock and the log."""

from __future__ import annotations

import pathlib
import sys
import time

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (str(ROOT / "tools"), str(BENCH)):  # tools/stack.py, and the bench's own modules
    if _path not in sys.path:
        sys.path.insert(0, _path)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AUTOMATION_GROUP = "automation.record-triggers"
# The request handler's frame in each profiled process: profiles are read from there down.
WITHIN = {"gateway": "Flask.wsgi_app (flask/app.py)", "records": "_call_behavior (grpc/_server.py)",
          "automation": "IdempotentConsumer.run (crm_platform/messaging.py)"}
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[bench {time.monotonic() - T0:6.0f}s] {msg}", flush=True)
