"""One active outbox relay per service database: a lease that its holder keeps while it lives.

Every relay process of a service (the `relay` pods, every `all` process of `make run`) competes for its
database's lease; the holder publishes, the others stand by and try again every second. The lease is
released by the operating system or the database server when its holder dies, however it dies
(`kill -9` included), so a standby takes over within about a second:

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection of the lease's
  own. The server drops the lock when that connection ends: a killed process's socket is closed by
  its kernel, and the backend ends at once. (A holder cut off by the network keeps it until the
  server's TCP keepalive gives up on the connection; the relay's row locks still keep the batches
  in order meanwhile, see `OutboxRelay`.)
- SQLite: an exclusive `flock` on a file beside the database file (`<file>.relay-lease`), which the
  kernel releases when the holding process ends. SQLite is one machine's file, so one machine's lock
  is enough. An in-memory database has one process by definition: no lease needed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time

from crm_platform.wakeup import close_quietly

log = logging.getLogger(__name__)


class AdvisoryLease:
    """PostgreSQL's lease: `pg_try_advisory_lock(key)` on a dedicated autocommit connection.

    `acquire()` answers whether this relay holds the lease now: it tries the lock when it does not
    hold it, and, while it holds it, checks at most every `check_every` seconds that the connection
    (and so the lock) is still alive. A standby keeps its one connection and only retries the lock."""

    def __init__(self, url: str, name: str, check_every: float = 1.0):
        from sqlalchemy.engine import make_url

        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        # one 64-bit key per outbox table name; advisory locks are per database, so per service
        self.key = int.from_bytes(hashlib.sha256(f"crm.outbox-relay.{name}".encode()).digest()[:8], "big",
                                  signed=True)
        self.check_every = check_every
        self.conn = None
        self.holding = False
        self._checked = 0.0

    def acquire(self) -> bool:
        import psycopg

        try:
            if self.conn is None:
                self.conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5,
                                            application_name=f"crm-relay-lease pid={os.getpid()}",
                                            keepalives=1, keepalives_idle=5, keepalives_interval=2,
                                            keepalives_count=3)
            if self.holding:
                # Every turn, without a round trip: an idle connection of ours receives nothing unless the
                # server ended it (its termination notice, then EOF); a round trip every `check_every`.
                if self._readable() or time.monotonic() - self._checked >= self.check_every:
                    self.conn.execute("SELECT 1")
                    self._checked = time.monotonic()
                return True
            self.holding = bool(self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0])
            self._checked = time.monotonic()
            if self.holding:
                log.info("outbox relay: took the lease (advisory lock %d)", self.key)
            return self.holding
        except psycopg.Error as exc:
            if self.holding:
                log.warning("outbox relay: lost the lease (%s)", exc)
            self.release()
            return False

    def _readable(self) -> bool:
        import select

        return bool(select.select([self.conn.fileno()], [], [], 0)[0])

    @property
    def backend_pid(self) -> int | None:
        """The server process of the lease's connection (tests end it to show a takeover)."""
        return self.conn.info.backend_pid if self.conn is not None else None

    def release(self) -> None:
        """Give the lease up (closing the connection releases the lock)."""
        self.holding = False
        close_quietly(self.conn)
        self.conn = None


class FileLease:
    """SQLite's lease: an exclusive, non-blocking `flock` on `path`, held while the file stays open."""

    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None

    @property
    def holding(self) -> bool:
        return self.fd is not None

    def acquire(self) -> bool:
        import fcntl

        if self.fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning("outbox relay: cannot open the lease file %s (%s)", self.path, exc)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        log.info("outbox relay: took the lease (%s)", self.path)
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor of the open file releases the lock
            self.fd = None


class NoLease:
    """An in-memory SQLite database: one process, nothing to share."""

    holding = True

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def lease_for(db, name: str):
    """The lease of the relays of `db`'s outbox table `name`."""
    if not db.is_sqlite:
        return AdvisoryLease(db.url, name)
    from sqlalchemy.engine import make_url

    path = make_url(db.url).database
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return NoLease()
    return FileLease(f"{os.path.abspath(path)}.relay-lease" if name == "outbox" else
                     f"{os.path.abspath(path)}.{name}.relay-lease")
