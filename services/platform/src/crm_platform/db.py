"""SQLAlchemy 2 engines and sessions, tenant scoping in one place, and Alembic migrations.

Every tenant-owned model mixes in `TenantScoped`. A session opened for a company adds
`company_id = :cid` to every ORM SELECT, UPDATE and DELETE of such models and stamps new rows,
so a forgotten filter cannot leak another company's rows.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import pathlib
import re
import threading
from concurrent.futures import Future
from typing import Callable, Iterator, TypeVar

from sqlalchemy import String, Table, any_, bindparam, create_engine, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker, with_loader_criteria


log = logging.getLogger(__name__)
T = TypeVar("T")


def utcnow() -> _dt.datetime:
    """Return the current UTC time (timezone-aware)."""
    return _dt.datetime.now(_dt.timezone.utc)


def one_or_not_found(s: Session, query, code: str, message: str, lock: bool = False):
    """The one row `query` selects, or NotFound(`code`, `message`). `lock`: FOR UPDATE, for a write that
    reads the row to change it (on PostgreSQL two such writes then run one after the other, the second
    from what the first left; SQLite writers take the database in turn anyway)."""
    from crm_platform.errors import NotFound

    row = s.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(code, message)
    return row


def in_chunks(s: Session, make_query, values: list, sqlite_chunk: int = 500) -> Iterator:
    """Run `make_query(one_of)` over a long list of values; yield each result.

    `one_of(column)` is the condition "column is one of this chunk's values". On PostgreSQL the
    whole list is one array parameter (`column = ANY(:values)`): one statement, and one plan
    that stays good when the driver prepares it (an IN list of 500 parameters, once prepared,
    ran 15-20 times slower). SQLite caps bound parameters, so there it is IN lists of
    `sqlite_chunk` values.
    """
    if not values:
        return
    if s.get_bind().dialect.name == "postgresql":
        yield s.execute(make_query(lambda column: column == any_(bindparam(None, list(values),
                                                                           type_=ARRAY(column.type)))))
        return
    for i in range(0, len(values), sqlite_chunk):
        chunk = values[i:i + sqlite_chunk]
        yield s.execute(make_query(lambda column, chunk=chunk: column.in_(chunk)))


def retry_deadlocks(work: Callable[[], T], attempts: int = 3) -> T:
    """Run `work()` (a whole unit of work: it opens and commits its own transaction) again when
    PostgreSQL aborted it as the victim of a deadlock (SQLSTATE 40P01).

    Two changes that lock the same rows in opposite orders (a bulk change locks deals, then their
    clients; a client's edit locks the client, then its deals) can each wait for the other; PostgreSQL
    then rolls one back. Nothing of it was written, and run again after the other committed it
    succeeds, so the caller sees neither the deadlock nor an error."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as exc:
            if attempt == attempts - 1 or getattr(exc.orig, "sqlstate", None) != "40P01":
                raise
            log.warning("deadlock; running the change again (attempt %d of %d)", attempt + 2, attempts)
    raise AssertionError("unreachable")


class Overlapped:
    """Statements of a session's transaction run by a worker thread while the caller computes.

    On PostgreSQL a large UPDATE keeps the server busy for a second while the caller has Python
    work that does not need its result (the history and events of the same change): `run(fn)`
    queues `fn()` (which executes statements on the session) and returns at once, so the server
    and the interpreter work at the same time. Queued work runs in order; leaving the `with`
    block waits for all of it and raises its first error. The caller must not use the session
    inside the block other than through `run`; the future `run` returns gives `fn`'s result (the
    rows a queued SELECT read) while the statements queued after it go on. Elsewhere (SQLite
    connections belong to their thread) `run` runs `fn` at once.
    """

    def __init__(self, s: Session):
        self._pool = None
        if s.get_bind().dialect.name == "postgresql":
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="overlapped")
        self._pending: list = []

    def run(self, fn) -> Future:
        """Queue `fn()`; its future gives its result (waiting for it and everything queued before)."""
        if self._pool is None:
            done: Future = Future()
            done.set_result(fn())  # an error raises here, at once
            return done
        future = self._pool.submit(fn)
        self._pending.append(future)
        return future

    def __enter__(self) -> "Overlapped":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is None:
            return
        try:
            for future in self._pending:
                error = future.exception()  # waits; the session is free again after the last one
                if error is not None and exc[0] is None:
                    raise error
        finally:
            self._pool.shutdown(wait=True)


_COPY_TYPES = {"VARCHAR": "varchar", "TEXT": "text", "JSON": "json", "JSONB": "jsonb", "BYTEA": "bytea",
               "TIMESTAMP WITH TIME ZONE": "timestamptz", "BIGINT": "int8", "INTEGER": "int4", "BOOLEAN": "bool"}


def bulk_insert(s: Session, table: Table, rows: list[dict], copy_from: int = 100) -> None:
    """Insert many rows (all with the same keys) in the session's transaction, in order.

    On PostgreSQL `copy_from` rows or more go through a binary COPY: 20,000 history rows or
    outbox events take a fraction of the time of batched multi-row INSERTs (which bind every
    value as a parameter and parse a statement per 1,000 rows). Elsewhere, and for a few rows,
    one executemany INSERT.
    """
    if not rows:
        return
    bind = s.get_bind()
    if len(rows) < copy_from or bind.dialect.name != "postgresql":
        s.execute(table.insert(), rows)
        return
    keys = list(rows[0])
    types = [_COPY_TYPES[table.c[k].type.compile(dialect=bind.dialect).split("(")[0]] for k in keys]
    names = ", ".join(f'"{table.c[k].name}"' for k in keys)
    cursor = s.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row([row[k] for k in keys])


def rfc3339(value: _dt.datetime | int | None) -> str:
    """RFC 3339 UTC text with a Z ('' for None) of a stored time or of Unix seconds: the one formatter of
    every service. SQLite hands datetimes back naive, in UTC."""
    if value is None:
        return ""
    if isinstance(value, int):
        value = _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


# RFC 3339 date-time with seconds and a zone, as every API reads it (years 1000-9999, at most microseconds,
# no leap second, nothing around it): the gateway's OpenAPI document shows this pattern (and the
# `date-time` format, which allows no spaces either).
RFC3339_PATTERN = (r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
                   r":[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
_RFC3339 = re.compile(RFC3339_PATTERN)


def parse_rfc3339(text: str) -> _dt.datetime | None:
    """The UTC time an RFC 3339 text names (with an offset or Z; None when it is not one, or not a day of
    the calendar)."""
    if not _RFC3339.fullmatch(text or ""):
        return None
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return value.astimezone(_dt.timezone.utc)


class TenantScoped:
    """Mixin for rows owned by one company."""

    company_id: Mapped[str] = mapped_column(String(36), index=True)


class TenantLed(TenantScoped):
    """TenantScoped for a table whose own indexes all start with `company_id`: no index on that column
    alone, which no query needs and every insert and non-HOT update would have to maintain too."""

    company_id: Mapped[str] = mapped_column(String(36))


class TenantMismatch(RuntimeError):
    """A row of one company was about to be written in a session of another."""


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state) -> None:
    cid = state.session.info.get("company_id")
    if cid is None or state.execution_options.get("all_tenants"):
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(TenantScoped, lambda cls: cls.company_id == cid, include_aliases=True))


READ_ONLY = "read_only"


class WriteInReadSession(RuntimeError):
    """A change was made in a session opened for reading (`Database.session(write=False)`)."""


@event.listens_for(Session, "do_orm_execute")
def _refuse_write_statements(state) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise WriteInReadSession("an INSERT, UPDATE or DELETE in a read session: open it with write=True")


@event.listens_for(Session, "before_flush")
def _refuse_write_flushes(session: Session, _ctx, _instances) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise WriteInReadSession("changed rows in a read session: open it with write=True")


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _ctx, _instances) -> None:
    cid = session.info.get("company_id")
    if cid is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, TenantScoped):
            if obj.company_id is None:
                obj.company_id = cid
            elif obj.company_id != cid:
                raise TenantMismatch(f"{type(obj).__name__} of another company in a session of {cid}")


def _sqlite_setup(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the lock up front: no deadlock between two read-then-write transactions.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Engines and session factories of one service's database."""

    def __init__(self, url: str, pool_size: int = 10, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 10})
            self.write_engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 10})
            _sqlite_setup(self.engine, immediate=False)
            _sqlite_setup(self.write_engine, immediate=True)
        else:
            # No pre-ping (a round trip per checkout): a connection the server dropped fails its first
            # statement, and SQLAlchemy then invalidates the whole pool (recovery without restart).
            self.write_engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                                              pool_timeout=5, pool_recycle=1800)
            # Reads run in autocommit (same pool): no BEGIN and COMMIT round trips around a lookup;
            # each statement sees its own snapshot. Read sessions refuse writes (_refuse_write_*).
            self.engine = self.write_engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = sessionmaker(self.engine, expire_on_commit=False, info={READ_ONLY: True})
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self, company_id: str | None = None, write: bool = False) -> Iterator[Session]:
        """Open a unit of work: commit when the block ends, roll back on error."""
        factory = self._write if write else self._read
        with factory() as s:
            s.info["company_id"] = company_id
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def ping(self) -> bool:
        """Tell whether the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()

    _migrate_lock = threading.Lock()

    def migrate(self, migrations_dir: pathlib.Path) -> None:
        """Upgrade the schema to the newest Alembic revision (serialised across replicas on PostgreSQL)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(migrations_dir))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self._migrate_lock, self.write_engine.connect() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_lock(727274)"))
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            finally:
                if not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_unlock(727274)"))
                    conn.commit()


def run_alembic_env(target_metadata) -> None:
    """Body of every service's migrations/env.py: run online with the given connection or URL."""
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
