"""Send queued e-mails over SMTP; a message leaves the queue only after the server accepted it."""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage

from sqlalchemy import select

from crm_platform.db import Database, utcnow
from crm_identity.adapters.orm import OutgoingMail

log = logging.getLogger(__name__)


class SmtpMailer:
    """Deliver OutgoingMail rows to an SMTP server."""

    def __init__(self, db: Database, host: str, port: int, sender: str):
        self.db = db
        self.host = host
        self.port = port
        self.sender = sender

    def send_pending(self, limit: int = 20) -> int:
        """Send up to `limit` unsent mails; return how many went out."""
        with self.db.session() as s:
            pending = s.execute(select(OutgoingMail).where(OutgoingMail.sent_at.is_(None))
                                .order_by(OutgoingMail.id).limit(limit)).scalars().all()
        if not pending:
            return 0
        sent = 0
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            for mail in pending:
                msg = EmailMessage()
                msg["From"] = self.sender
                msg["To"] = mail.recipient
                msg["Subject"] = mail.subject
                msg.set_content(mail.body)
                try:
                    smtp.send_message(msg)
                    error = None
                except smtplib.SMTPException as exc:
                    error = repr(exc)
                with self.db.session(write=True) as s:
                    row = s.get(OutgoingMail, mail.id)
                    if error is None:
                        row.sent_at = utcnow()
                        row.body = ""  # the link inside is a credential: keep it no longer than needed
                        sent += 1
                    else:
                        row.attempts += 1
                        row.last_error = error
        return sent


class MailWorker:
    """Loop: turn reset requests into e-mails, then deliver them, retrying while SMTP is down."""

    def __init__(self, service, mailer: SmtpMailer, interval: float = 0.2):
        self.service = service
        self.mailer = mailer
        self.interval = interval
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        backoff = self.interval
        while not self.stop_event.is_set():
            try:
                self.service.process_reset_requests()
                self.mailer.send_pending()
                self.ready.set()
                backoff = self.interval
            except Exception as exc:  # noqa: BLE001 - SMTP or DB down: retry later
                log.warning("mail worker: %s", exc)
                backoff = min(backoff * 2, 5.0)
            self.stop_event.wait(backoff)
