"""Returning the money of a second payment: CLICK's Merchant API `DELETE payment/reversal`.

Two attempts can both pass Prepare while an order is pending (two invoices, two tabs of the payment
page) and both be debited. The first Complete pays the order; a second one finds it paid. The
money was taken (Complete `error=0`), and click.md 2.4 says the answer to such a Complete "cannot be
an error" and that a merchant who cannot deliver answers success and then reverses the payment. So
billing answers 0, marks the attempt `reversing` (due now) in the same transaction, and after the
commit a reverser asks CLICK to reverse it. It cannot be done inside the callback: CLICK reverses
only a payment that completed successfully, which it is once CLICK has our answer.

- The reverser claims due rows the way the mailer does: in a short write transaction (PostgreSQL
  `FOR UPDATE SKIP LOCKED`; SQLite `BEGIN IMMEDIATE`) it moves `reversal_next_at` one lease ahead,
  then calls CLICK with no lock held, then writes the outcome. Several API replicas are safe.
- A refusal or no answer is tried again after `BACKOFF_SECONDS` (2 s, 10 s, 1 min, 5 min, 30 min,
  1 h, then every 3 h); after `MAX_ATTEMPTS` the row is `reversal_failed` with CLICK's last answer,
  logged at ERROR and counted (`crm_click_reversals_total{outcome="failed"}`): a person returns the
  money (docs/billing.md). CLICK reverses only this month's payments, so waiting longer is no use.
- The Merchant API's `payment_id` is taken to be the callback's `click_paydoc_id` (click.md 5.17
  leaves it open; the simulator uses that id).
- It runs in the API process that answered the Complete (a thread started after the commit) and
  once when an API process starts (`kick`), so a reversal a crashed process left is taken up again;
  `ReversalWorker` is the same as a loop of its own, for a `reversals` process type.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import threading

from prometheus_client import Counter
from sqlalchemy import func, select, update

from crm_platform.db import Database, utcnow
from crm_billing.adapters.click_api import ClickApiError, ClickMerchantApi
from crm_billing.adapters.orm import ClickTransaction

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (2, 10, 60, 300, 1800, 3600, 10800)
MAX_ATTEMPTS = 12  # about a day of attempts
LEASE_SECONDS = 60.0  # longer than a Merchant API call can take (its timeout is 5 s)

REVERSALS = Counter("crm_click_reversals_total", "Second payments of a paid order sent back through CLICK",
                    ["outcome"])


@dataclasses.dataclass(frozen=True)
class Due:
    id: int
    payment_id: str
    attempts: int
    lease_until: _dt.datetime


class Reverser:
    """Reverse the `reversing` payments through CLICK, each once, with retries."""

    def __init__(self, db: Database, click_api: ClickMerchantApi | None, *, backoff=BACKOFF_SECONDS,
                 max_attempts: int = MAX_ATTEMPTS, lease_seconds: float = LEASE_SECONDS):
        self.db = db
        self.click_api = click_api
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.lease = _dt.timedelta(seconds=lease_seconds)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def claim(self, limit: int = 10) -> list[Due]:
        with self.db.session(write=True) as s:
            now = utcnow()
            q = (select(ClickTransaction).where(ClickTransaction.reversal_next_at.is_not(None),
                                                ClickTransaction.reversal_next_at <= now)
                 .order_by(ClickTransaction.reversal_next_at).limit(limit))
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            rows = s.execute(q).scalars().all()
            for row in rows:
                row.reversal_next_at = now + self.lease
            return [Due(r.id, r.click_paydoc_id, r.reversal_attempts or 0, now + self.lease) for r in rows]

    def _finish(self, due: Due, **values) -> bool:
        with self.db.session(write=True) as s:  # only while the lease is still ours
            return bool(s.execute(update(ClickTransaction).where(
                ClickTransaction.id == due.id, ClickTransaction.reversal_next_at == due.lease_until)
                .values(**values)).rowcount)

    def reverse_due(self, limit: int = 10) -> int:
        """Ask CLICK to reverse the due payments; return how many it reversed."""
        if self.click_api is None:
            return 0
        reversed_ = 0
        for due in self.claim(limit):
            try:
                answer = self.click_api.reverse_payment(due.payment_id) if due.payment_id else \
                    {"error_code": None, "error_note": "no click_paydoc_id to reverse"}
                error = None if answer.get("error_code") == 0 else \
                    f"CLICK answered {answer.get('error_code')}: {answer.get('error_note', '')}"
            except ClickApiError as exc:
                error = str(exc)
            now = utcnow()
            if error is None:
                if self._finish(due, status="reversed", reversed_at=now, reversal_next_at=None,
                                reversal_attempts=due.attempts + 1, reversal_error=None):
                    reversed_ += 1
                    REVERSALS.labels("reversed").inc()
                    log.info("click payment %s reversed (a second payment of a paid order)", due.payment_id)
                continue
            attempts = due.attempts + 1
            if attempts >= self.max_attempts or not due.payment_id:
                if self._finish(due, status="reversal_failed", reversal_next_at=None, reversal_attempts=attempts,
                                reversal_error=error[:2000]):
                    REVERSALS.labels("failed").inc()
                    log.error("click payment %s NOT reversed after %d attempts, return it by hand: %s",
                              due.payment_id, attempts, error)
                continue
            wait = self.backoff[min(attempts, len(self.backoff)) - 1]
            self._finish(due, reversal_next_at=now + _dt.timedelta(seconds=wait), reversal_attempts=attempts,
                         reversal_error=error[:2000])
            log.warning("click payment %s: reversal attempt %d failed (again in %s s): %s", due.payment_id,
                        attempts, wait, error)
        return reversed_

    def next_due(self) -> _dt.datetime | None:
        with self.db.session() as s:
            value = s.execute(select(func.min(ClickTransaction.reversal_next_at))).scalar_one_or_none()
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value

    # ---- the background thread ------------------------------------------------------------------
    def kick(self) -> None:
        """Reverse what is due now and later, in a thread that ends when nothing is left to reverse."""
        if self.click_api is None:
            return
        with self._lock:
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, name="click-reversals", daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        while True:
            self._wake.clear()
            try:
                self.reverse_due()
                upcoming = self.next_due()
            except Exception as exc:  # noqa: BLE001 - database down: the rows wait; try again soon
                log.warning("click reversals: %s", exc)
                upcoming = utcnow() + _dt.timedelta(seconds=5)
            with self._lock:
                if upcoming is None and not self._wake.is_set():
                    self._thread = None
                    return
            wait = 0.0 if upcoming is None else (upcoming - utcnow()).total_seconds()
            self._wake.wait(min(max(wait, 0.05), 60.0))


class ReversalWorker:
    """The reverser as a loop of its own (a LoopComponent's target)."""

    def __init__(self, reverser: Reverser, interval: float = 1.0):
        self.reverser = reverser
        self.interval = interval
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.reverser.reverse_due()
                self.ready.set()
            except Exception as exc:  # noqa: BLE001 - database or CLICK down: try again later
                log.warning("click reversals: %s", exc)
            self.stop_event.wait(self.interval)
