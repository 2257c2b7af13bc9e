"""Wake a worker when a transaction wrote work for it, instead of having it poll fast.

A `Wakeup` is a named channel. A transaction that writes work calls `mark(session)`; when that
transaction commits (never when it rolls back) the worker waiting on the channel wakes:
- in the same process (role `all`, `make run`, and every process on SQLite): an in-process event, set
  after the commit;
- on PostgreSQL, from any process (a worker's own pods in production): the transaction also sends
  `NOTIFY <channel>`, which PostgreSQL delivers when it commits, and the worker LISTENs on a connection
  of its own while it has nothing to do (`Listener`).
A waiting worker still looks now and then (its `wait` timeout) for work nothing announced: retries that
fell due, rows written by a process it cannot hear (another process on SQLite).
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import event, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_KEY = "crm_wakeups"  # session.info: the channels this transaction marked


class Wakeup:
    def __init__(self, channel: str):
        self.channel = channel
        self.event = threading.Event()  # set after a commit in this process that marked the channel

    def mark(self, session: Session) -> None:
        """This transaction wrote work for the channel's worker: wake it when it commits (NOTIFY once)."""
        marked = session.info.setdefault(_KEY, set())
        if self not in marked:
            marked.add(self)
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"NOTIFY {self.channel}"))

    def waiter(self, url: str, stop: threading.Event) -> "Waiter":
        return Waiter(self, url, stop)


@event.listens_for(Session, "after_commit")
def _wake(session: Session) -> None:
    for wakeup in session.info.pop(_KEY, ()):
        wakeup.event.set()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)


class Waiter:
    """One worker's wait on a channel: `wait(t)` returns True as soon as the channel is woken (a commit in
    this process, or on PostgreSQL a NOTIFY from any), False after `t` seconds without."""

    SLICE = 0.5  # how soon a stopping worker stops waiting

    def __init__(self, wakeup: Wakeup, url: str, stop: threading.Event):
        self.wakeup = wakeup
        self.stop = stop
        self.listener = Listener(url, stop, wakeup.channel) if url.startswith("postgresql") else None

    def wait(self, timeout: float) -> bool:
        """In slices of SLICE seconds, so that a stopping worker stops waiting."""
        deadline = time.monotonic() + timeout
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._woken(min(left, self.SLICE)):
                return True
        return False

    def _woken(self, timeout: float) -> bool:
        if self.listener is not None:
            return self.listener.wait(timeout)
        if self.wakeup.event.wait(timeout):
            self.wakeup.event.clear()  # before the worker reads: a commit after this wakes it again
            return True
        return False

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()


class Listener:
    """A connection of its own that LISTENs on `channel` (PostgreSQL): `wait(t)` returns True as soon as a
    notification arrives (taking every one that is pending), False after `t` seconds without one.
    A broken connection is dropped and opened again on the next wait; meanwhile waits just sleep."""

    def __init__(self, url: str, stop: threading.Event, channel: str):
        from sqlalchemy.engine import make_url

        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.stop = stop
        self.channel = channel
        self.conn = None

    def wait(self, timeout: float) -> bool:
        import psycopg

        try:
            if self.conn is None:
                self.conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
                self.conn.execute(f"LISTEN {self.channel}")
            woken = any(True for _ in self.conn.notifies(timeout=timeout, stop_after=1))
            if woken:
                for _ in self.conn.notifies(timeout=0):  # the rest that came meanwhile: one read takes them all
                    pass
            return woken
        except psycopg.Error as exc:
            log.warning("listening on %s failed (%s); polling", self.channel, exc)
            self.close()
            self.stop.wait(timeout)
            return False

    def close(self) -> None:
        close_quietly(self.conn)
        self.conn = None


def close_quietly(conn) -> None:
    """Close a connection that may already be broken (nothing to do for None)."""
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            pass
