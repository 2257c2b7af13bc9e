"""The mailer against a real SMTP server (the project's mail catcher, `tools/mailcatcher.py`, taught to
refuse some recipients the way a real server does) and a real database (SQLite, PostgreSQL when it
answers): refusals never block other mail, temporary ones wait for their next attempt, attempts are
capped, and two mailers on one database deliver each mail once."""

from __future__ import annotations

import collections
import contextlib
import sys
import threading
import time
import uuid

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from crm_platform.auth import TokenSigner, read_key
from crm_platform.db import Database, utcnow
from crm_identity.__main__ import MIGRATIONS
from crm_identity.adapters.mailer import MailWorker, SmtpMailer
from crm_identity.adapters.orm import OutgoingMail
from crm_identity.service_layer.services import IdentityService
from tests.support.outages import SqliteLock
from tests.support.infra import ROOT, free_port, postgres_available, postgres_database, read_mails, wait_for

sys.path.insert(0, str(ROOT / "tools"))
from mailcatcher import StoreHandler  # noqa: E402 - the project's mail catcher

PG = postgres_available()
KINDS = ["sqlite", "postgresql"] if PG else ["sqlite"]


class RefusingHandler(StoreHandler):
    """The mail catcher, refusing recipients as a real server does: `refused-*` for good (550),
    `busy<N>-*` for now (451) the first N times (`busy-*`: every time)."""

    def __init__(self, folder, slow: float = 0.0):
        super().__init__(folder)
        self.rcpt = collections.Counter()  # RCPT commands per address
        self.accepted = collections.Counter()
        self.slow = slow

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd
        self.rcpt[address] += 1
        local = address.split("@")[0]
        if local.startswith("refused-"):
            return "550 5.1.1 No such user here"
        if local.startswith("busy-"):
            return "451 4.3.0 Mailbox busy, try again later"
        if local.startswith("busy") and self.rcpt[address] <= int(local[4:].split("-")[0]):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd
        if self.slow:
            time.sleep(self.slow)  # a slow server: batches of two mailers overlap in time
        for address in envelope.rcpt_tos:
            self.accepted[address] += 1
        return await super().handle_DATA(server, session, envelope)


@contextlib.contextmanager
def smtp_server(folder, port: int | None = None, slow: float = 0.0):
    handler = RefusingHandler(folder, slow)
    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@contextlib.contextmanager
def database(kind: str, folder):
    if kind == "sqlite":
        url_cm = contextlib.nullcontext(f"sqlite:///{folder / 'identity.db'}")
    else:
        url_cm = postgres_database("crm_mailer")
    with url_cm as url:
        db = Database(url)
        try:
            db.migrate(MIGRATIONS)
            yield db
        finally:
            db.dispose()


@pytest.fixture(params=KINDS)
def db(request, tmp_path):
    with database(request.param, tmp_path) as d:
        yield d


def queue(db, *recipients: str) -> list[int]:
    with db.session(write=True) as s:
        rows = [OutgoingMail(recipient=r, subject="Hello", body=f"Body for {r}", created_at=utcnow())
                for r in recipients]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def mail(db, mail_id: int) -> OutgoingMail:
    with db.session() as s:
        return s.get(OutgoingMail, mail_id)


def test_twenty_refused_recipients_do_not_block_a_password_reset(db, keys, tmp_path):
    svc = IdentityService(db, TokenSigner(read_key(keys["access_private"])))
    email = f"{uuid.uuid4().hex[:10]}@t.uz"
    svc.sign_up(company_name="Co", first_name="Ann", last_name="B", email=email, password="pass-1234")
    refused = queue(db, *[f"refused-{i}@t.uz" for i in range(10)], *[f"busy-{i}@t.uz" for i in range(10)])
    svc.forgot_password(email=email, language="en")
    with smtp_server(tmp_path / "mail") as (server, port):
        worker = MailWorker(svc, SmtpMailer(db, "127.0.0.1", port, "CRM <no-reply@crm.local>"), interval=0.05)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            delivered = wait_for(lambda: [m for m in read_mails(tmp_path / "mail") if m["To"] == email],
                                 timeout=20, message="the reset mail")
        finally:
            worker.stop_event.set()
            thread.join(10)
    assert len(delivered) == 1 and delivered[0]["Subject"] == "Reset your CRM password"
    assert "#token=" in delivered[0].get_content()
    rows = [mail(db, i) for i in refused]
    for row in rows[:10]:  # 550: given up at once, with the reason, body erased
        assert row.failed_at is not None and row.attempts == 1 and row.next_attempt_at is None
        assert "550" in row.last_error and row.body == ""
    for row in rows[10:]:  # 451: waiting for the next attempt, 30 s later
        assert row.failed_at is None and row.attempts == 1 and row.sent_at is None
        wait = row.next_attempt_at.replace(tzinfo=utcnow().tzinfo) - utcnow()
        assert 15 < wait.total_seconds() <= 30 and "451" in row.last_error
    assert all(server.rcpt[f"refused-{i}@t.uz"] == 1 for i in range(10))  # never tried again
    with db.session() as s:
        reset = s.execute(select(OutgoingMail).where(OutgoingMail.recipient == email)).scalar_one()
    assert reset.sent_at is not None and reset.body == "" and reset.claimed_by is None


def test_an_idle_worker_sleeps_until_a_reset_is_requested_and_then_sends_at_once(db, keys, tmp_path):
    """Idle, the worker looks for due mails only every `idle` seconds (here longer than the test waits): the
    reset request's commit wakes it (in-process, or by NOTIFY on PostgreSQL), a rolled-back one does not."""
    from crm_identity.service_layer.passwords import RESET_REQUESTED

    svc = IdentityService(db, TokenSigner(read_key(keys["access_private"])))
    email = f"{uuid.uuid4().hex[:10]}@t.uz"
    svc.sign_up(company_name="Co", first_name="Ann", last_name="B", email=email, password="pass-1234")
    with smtp_server(tmp_path / "mail") as (server, port):
        worker = MailWorker(svc, SmtpMailer(db, "127.0.0.1", port, "CRM <no-reply@crm.local>"), idle=120,
                            wakeup=RESET_REQUESTED, url=db.url)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            assert worker.ready.wait(20)
            listener = worker.waiter.listener  # PostgreSQL: asleep once it LISTENs
            wait_for(lambda: listener is None or listener.conn is not None, timeout=10, message="listening")
            time.sleep(0.5)  # asleep now: nothing to do
            svc.forgot_password(email=email, language="en")
            delivered = wait_for(lambda: [m for m in read_mails(tmp_path / "mail") if m["To"] == email],
                                 timeout=20, message="the reset mail, long before the idle look")
        finally:
            worker.stop_event.set()
            thread.join(10)
        assert not thread.is_alive()  # a stop ends the sleep too
    assert len(delivered) == 1 and delivered[0]["Subject"] == "Reset your CRM password"


def test_a_temporary_refusal_is_retried_after_its_next_attempt_time(db, tmp_path):
    (mail_id,) = queue(db, "busy1-a@t.uz")
    mailer = SmtpMailer(db, "127.0.0.1", 0, "CRM <no-reply@crm.local>", backoff=(1.5,))
    with smtp_server(tmp_path / "mail") as (server, port):
        mailer.port = port
        assert mailer.send_pending() == 0
        row = mail(db, mail_id)
        assert row.attempts == 1 and row.sent_at is None and row.claimed_by is None
        due = row.next_attempt_at.replace(tzinfo=utcnow().tzinfo)
        assert mailer.send_pending() == 0 and server.rcpt["busy1-a@t.uz"] == 1  # not due yet: not tried
        time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.05)
        assert mailer.send_pending() == 1
    assert server.rcpt["busy1-a@t.uz"] == 2 and server.accepted["busy1-a@t.uz"] == 1
    row = mail(db, mail_id)
    assert row.sent_at is not None and row.failed_at is None and row.attempts == 1


def test_a_mail_refused_every_time_is_failed_after_the_cap(db, tmp_path):
    (mail_id,) = queue(db, "busy-forever@t.uz")
    mailer = SmtpMailer(db, "127.0.0.1", 0, "CRM <no-reply@crm.local>", backoff=(0.1, 0.2), max_attempts=3)
    with smtp_server(tmp_path / "mail") as (server, port):
        mailer.port = port
        deadline = time.monotonic() + 10
        while mail(db, mail_id).failed_at is None and time.monotonic() < deadline:
            mailer.send_pending()
            time.sleep(0.05)
        time.sleep(0.5)  # longer than any backoff: a retry would happen now
        mailer.send_pending()
    row = mail(db, mail_id)
    assert row.failed_at is not None and row.attempts == 3 and row.next_attempt_at is None
    assert "451" in row.last_error and row.body == "" and row.sent_at is None
    assert server.rcpt["busy-forever@t.uz"] == 3  # never tried after it failed


def test_smtp_down_costs_no_attempt(db, tmp_path):
    (mail_id,) = queue(db, "someone@t.uz")
    port = free_port()
    mailer = SmtpMailer(db, "127.0.0.1", port, "CRM <no-reply@crm.local>", timeout=2)
    with pytest.raises(OSError):
        mailer.send_pending()
    row = mail(db, mail_id)
    assert row.attempts == 0 and row.claimed_by is None and row.next_attempt_at is not None
    with smtp_server(tmp_path / "mail", port=port) as (server, _):
        assert mailer.send_pending() == 1
    assert server.accepted["someone@t.uz"] == 1


def _two_mailers_deliver_each_once(url: str, tmp_path) -> None:
    recipients = [f"user{i}@t.uz" for i in range(120)]
    dbs = [Database(url), Database(url)]  # two pools, as two mailer processes have
    try:
        dbs[0].migrate(MIGRATIONS)
        queue(dbs[0], *recipients)
        with smtp_server(tmp_path / "mail", slow=0.005) as (server, port):
            counts = [0, 0]
            barrier = threading.Barrier(2)

            def run(n: int) -> None:
                mailer = SmtpMailer(dbs[n], "127.0.0.1", port, "CRM <no-reply@crm.local>")
                barrier.wait()
                idle = 0
                while idle < 3:
                    sent = mailer.send_pending(limit=5)
                    counts[n] += sent
                    idle = idle + 1 if sent == 0 else 0

            threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        assert sum(counts) == len(recipients) and min(counts) > 0, counts  # both worked, none twice
        assert all(server.accepted[r] == 1 for r in recipients), server.accepted.most_common(3)
        with dbs[0].session() as s:
            assert s.execute(select(func.count()).select_from(OutgoingMail)
                             .where(OutgoingMail.sent_at.is_(None))).scalar_one() == 0
    finally:
        for d in dbs:
            d.dispose()


@pytest.mark.skipif(not PG, reason="PostgreSQL does not answer at 127.0.0.1:5432")
def test_two_mailers_on_one_postgresql_database_deliver_each_mail_once(tmp_path):
    with postgres_database("crm_mailer") as url:
        _two_mailers_deliver_each_once(url, tmp_path)


def test_two_mailers_on_one_sqlite_database_deliver_each_mail_once(tmp_path):
    _two_mailers_deliver_each_once(f"sqlite:///{tmp_path / 'identity.db'}", tmp_path)


class LockingHandler(RefusingHandler):
    """Accepts mails; the first one it accepts locks the mailer's SQLite database (`BEGIN EXCLUSIVE`) for
    `hold` seconds, so the mailer must write that mail's outcome while the database is away."""

    def __init__(self, folder, db_path, hold: float):
        super().__init__(folder)
        self.lock, self.hold, self.locked_at = SqliteLock(db_path), hold, None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd
        answer = await super().handle_DATA(server, session, envelope)
        if self.locked_at is None:
            self.lock.start()
            self.locked_at = time.monotonic()
            threading.Timer(self.hold, self.lock.stop).start()
        return answer


def test_a_mail_accepted_while_the_database_is_locked_is_marked_sent_when_it_is_back(tmp_path):
    """The server accepted the mail; the database was locked for 25 s (two and a half busy timeouts):
    the outcome waits and is written when the lock goes, the batch goes on, nothing is sent twice."""
    with database("sqlite", tmp_path) as db:
        ids = queue(db, "first@t.uz", "second@t.uz", "third@t.uz")
        handler = LockingHandler(tmp_path / "mail", tmp_path / "identity.db", hold=25.0)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        try:
            mailer = SmtpMailer(db, "127.0.0.1", controller.port, "CRM <no-reply@crm.local>", timeout=5)
            assert mailer.send_pending() == 3
            waited = time.monotonic() - handler.locked_at
            assert mailer.send_pending() == 0  # nothing left due: no mail goes out twice
        finally:
            controller.stop()
        assert waited >= 25.0  # the first outcome was written after the lock went
        assert dict(handler.accepted) == {"first@t.uz": 1, "second@t.uz": 1, "third@t.uz": 1}
        for i in ids:
            row = mail(db, i)
            assert row.sent_at is not None and row.claimed_by is None and row.body == "" and row.attempts == 0
