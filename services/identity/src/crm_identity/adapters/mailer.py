"""Send queued e-mails over SMTP; a message leaves the queue only after the server accepted it, or when
it was given up for good.

- **Claims.** A mailer claims a batch of due rows in one short write transaction before it talks to
  SMTP: it stamps them with its claim id (`claimed_by`) and a lease (`claimed_until`). On PostgreSQL
  the claim reads the rows `FOR UPDATE SKIP LOCKED`, so mailers running at once take different rows
  without waiting for each other; on SQLite the claim is a `BEGIN IMMEDIATE` transaction, so claims
  run one after the other and each sees the leases of the previous one. A row is due when its
  `next_attempt_at` has come and no lease on it is running. No database lock is held while SMTP
  is talked to; each result is written in its own transaction, and only while the claim is still
  ours (`WHERE claimed_by = :claim`). A mailer killed mid-batch leaves leases that run out
  (`LEASE_SECONDS`), then another mailer sends those mails: one accepted by the server just before
  the kill goes out twice (delivery is at least once).
- **Attempts.** A mail the server refuses *for good* (SMTP 5xx for the recipient or the message, a
  message that cannot be encoded) fails at once. A *temporary* refusal (4xx, a dropped connection
  during its transfer) is tried again after a backoff (`BACKOFF_SECONDS`: 30 s, 2 min, 10 min,
  30 min, 1 h, 2 h); after `MAX_ATTEMPTS` attempts the mail fails. A failed mail keeps its last
  error, loses its body (the link inside is a credential) and is never tried again.
- **No mail blocks another.** A refusal is recorded and the batch goes on with the next mail on the
  same connection (smtplib resets the transaction). A failed or waiting mail leaves the due set,
  so later mails (a password reset) go out in the next batch at the latest.
- **Database gone after the server accepted.** Writing a mail's outcome waits a transient database
  error out (`crm_platform.faults`: locked, refusing connections), with capped backoff, for as long
  as the claim's lease leaves time: a mail the server accepted while the database was away is
  marked sent when it comes back, not sent again. Only when the lease would run out does the write
  give up (the mail then goes out a second time: delivery stays at least once).
- **SMTP down.** A connection that cannot be opened is not the mails' fault: their claims are
  released without counting an attempt, and the worker backs off (up to 5 s) until the server answers.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import smtplib
import threading
import time
import uuid
from email.message import EmailMessage

from prometheus_client import Counter
from sqlalchemy import or_, select, update

from crm_platform import faults
from crm_platform.db import Database, utcnow
from crm_platform.wakeup import Wakeup
from crm_identity.adapters.orm import OutgoingMail

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (30, 120, 600, 1800, 3600, 7200)  # the wait after the 1st, 2nd, ... failed attempt
MAX_ATTEMPTS = 7  # the 7th temporary failure gives the mail up (~4 h 12 min after its first attempt)
LEASE_SECONDS = 300.0  # a claim's lease; a mailer stops sending a batch well before it runs out

MAILS_SENT = Counter("crm_mail_sent_total", "E-mails the SMTP server accepted")
MAILS_RETRIED = Counter("crm_mail_retried_total", "E-mail attempts refused for now (tried again later)")
MAILS_FAILED = Counter("crm_mail_failed_total", "E-mails given up for good", ["reason"])

PERMANENT, TEMPORARY, CONNECTION = "permanent", "temporary", "connection"


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A mail this mailer holds the lease of."""

    id: int
    recipient: str
    subject: str
    body: str
    attempts: int


def classify(exc: BaseException) -> str:
    """PERMANENT (never try again), TEMPORARY (try again later) or CONNECTION (the server went away:
    this mail is tried again later, the rest of the batch waits for a new connection)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return CONNECTION
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # every recipient refused
        codes = [code for code, _ in exc.recipients.values()]
        if 421 in codes:  # "closing the channel": smtplib has closed the connection
            return CONNECTION
        return PERMANENT if codes and all(500 <= code < 600 for code in codes) else TEMPORARY
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
        return CONNECTION
    if isinstance(exc, smtplib.SMTPSenderRefused):  # our sender address: no mail's fault
        return TEMPORARY
    if isinstance(exc, smtplib.SMTPResponseException):  # the message refused (DATA, ...)
        return PERMANENT if 500 <= exc.smtp_code < 600 else TEMPORARY
    if isinstance(exc, smtplib.SMTPException):  # e.g. SMTPNotSupportedError: an address needing SMTPUTF8
        return PERMANENT
    if isinstance(exc, OSError):  # socket errors, timeouts
        return CONNECTION
    return PERMANENT  # the message itself cannot be built or encoded (ValueError, UnicodeError)


class SmtpMailer:
    """Deliver OutgoingMail rows to an SMTP server; safe to run in several processes at once."""

    def __init__(self, db: Database, host: str, port: int, sender: str, *, timeout: float = 10.0,
                 backoff: tuple[float, ...] = BACKOFF_SECONDS, max_attempts: int = MAX_ATTEMPTS,
                 lease_seconds: float = LEASE_SECONDS):
        self.db = db
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.lease = lease_seconds

    # ---- the queue -----------------------------------------------------------------------------
    def claim(self, limit: int) -> tuple[str, list[Claimed]]:
        """Take up to `limit` due mails under a new claim id; return it and the mails."""
        claim_id = str(uuid.uuid4())
        with self.db.session(write=True) as s:
            now = utcnow()
            q = (select(OutgoingMail).where(OutgoingMail.next_attempt_at.is_not(None),
                                            OutgoingMail.next_attempt_at <= now,
                                            or_(OutgoingMail.claimed_until.is_(None),
                                                OutgoingMail.claimed_until < now))
                 .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(limit))
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            rows = s.execute(q).scalars().all()
            until = now + _dt.timedelta(seconds=self.lease)
            for row in rows:
                row.claimed_by, row.claimed_until = claim_id, until
            return claim_id, [Claimed(r.id, r.recipient, r.subject, r.body, r.attempts or 0) for r in rows]

    def _finish(self, claim_id: str, mail_id: int, deadline: float | None = None, **values) -> bool:
        """Write a mail's outcome and end its claim, if the claim is still ours. A transient database
        error is waited out until `deadline` (monotonic; the claim's lease less a margin)."""
        attempt = 0
        while True:
            try:
                with self.db.session(write=True) as s:
                    done = s.execute(update(OutgoingMail).where(OutgoingMail.id == mail_id,
                                                                OutgoingMail.claimed_by == claim_id)
                                     .values(claimed_by=None, claimed_until=None, **values)).rowcount
                break
            except Exception as exc:
                left = (deadline - time.monotonic()) if deadline is not None else 0.0
                if not faults.is_transient(exc) or left <= 0:
                    raise
                attempt += 1
                wait = min(faults.backoff(attempt), left)
                log.warning("mail %s: its outcome not written yet (%s); again in %.1f s", mail_id,
                            faults.describe(exc, 200), wait)
                time.sleep(wait)
        if not done:
            log.warning("mail %s: its claim ran out before its outcome was written", mail_id)
        return bool(done)

    def release(self, claim_id: str, mails: list[Claimed]) -> None:
        """Give claimed mails back untried (no attempt counted): another batch sends them."""
        if mails:
            with self.db.session(write=True) as s:
                s.execute(update(OutgoingMail).where(OutgoingMail.claimed_by == claim_id,
                                                     OutgoingMail.id.in_([m.id for m in mails]))
                          .values(claimed_by=None, claimed_until=None))

    def record_failure(self, claim_id: str, mail: Claimed, exc: BaseException, deadline: float | None = None) -> str:
        """Count a failed attempt: wait and try again, or give the mail up. Returns the kind of failure."""
        kind = classify(exc)
        attempts, error, now = mail.attempts + 1, f"{type(exc).__name__}: {exc}"[:2000], utcnow()
        if kind == PERMANENT or attempts >= self.max_attempts:
            reason = "refused" if kind == PERMANENT else "attempts"
            if self._finish(claim_id, mail.id, deadline, attempts=attempts, last_error=error, failed_at=now,
                            next_attempt_at=None, body=""):
                MAILS_FAILED.labels(reason).inc()
                log.error("mail %s to %s given up after %d attempt(s): %s", mail.id, mail.recipient, attempts,
                          error)
        else:
            wait = self.backoff[min(attempts, len(self.backoff)) - 1]
            if self._finish(claim_id, mail.id, deadline, attempts=attempts, last_error=error,
                            next_attempt_at=now + _dt.timedelta(seconds=wait)):
                MAILS_RETRIED.inc()
                log.warning("mail %s to %s refused for now (attempt %d, again in %s s): %s", mail.id,
                            mail.recipient, attempts, wait, error)
        return kind

    # ---- sending -------------------------------------------------------------------------------
    def _message(self, mail: Claimed) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = mail.recipient
        msg["Subject"] = mail.subject
        msg.set_content(mail.body)
        return msg

    def send_pending(self, limit: int = 20) -> int:
        """Claim up to `limit` due mails and send them; return how many the server accepted.

        Raises the connection's error (after releasing the mails not tried) when the server cannot be
        reached or goes away mid-batch, so the caller backs off."""
        claim_id, mails = self.claim(limit)
        if not mails:
            return 0
        started = time.monotonic()
        deadline = started + self.lease - self.timeout  # an outcome written before the lease runs out
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except OSError:
            self.release(claim_id, mails)
            raise
        sent = 0
        try:
            for i, mail in enumerate(mails):
                if time.monotonic() - started > self.lease - 3 * self.timeout:  # the lease would run out
                    self.release(claim_id, mails[i:])
                    break
                try:
                    smtp.send_message(self._message(mail))
                except Exception as exc:  # noqa: BLE001 - classified: this mail's failure or the server's
                    if self.record_failure(claim_id, mail, exc, deadline) == CONNECTION:
                        self.release(claim_id, mails[i + 1:])
                        raise
                    continue
                if self._finish(claim_id, mail.id, deadline, sent_at=utcnow(), next_attempt_at=None, body=""):
                    sent += 1  # the body's link is a credential: kept no longer than needed
                    MAILS_SENT.inc()
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return sent


class MailWorker:
    """Loop: turn reset requests into e-mails, then deliver them, backing off while SMTP is down.

    With nothing to do it sleeps until a reset request is committed (`wakeup`, the use case marks it: at
    once in this process, by NOTIFY from any on PostgreSQL), looking every `idle` seconds for mails whose
    retry or lease fell due. (Polling every 0.2 s cost an idle identity ~14 ms of CPU a second.)"""

    def __init__(self, service, mailer: SmtpMailer, interval: float = 0.2, idle: float = 2.0,
                 wakeup: Wakeup | None = None, url: str = ""):
        self.service = service
        self.mailer = mailer
        self.interval = interval
        self.idle = idle
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.waiter = wakeup.waiter(url, self.stop_event) if wakeup is not None else None

    def run(self) -> None:
        backoff = self.interval
        try:
            while not self.stop_event.is_set():
                try:
                    made = self.service.process_reset_requests()
                    sent = self.mailer.send_pending()
                    self.ready.set()
                    backoff = self.interval
                    if not (made or sent):
                        self._sleep()
                    continue
                except Exception as exc:  # noqa: BLE001 - SMTP or DB down: retry later
                    log.warning("mail worker: %s", exc)
                    backoff = min(backoff * 2, 5.0)
                self.stop_event.wait(backoff)
        finally:
            if self.waiter is not None:
                self.waiter.close()

    def _sleep(self) -> None:
        if self.waiter is not None:
            self.waiter.wait(self.idle)
        else:
            self.stop_event.wait(self.interval)
