"""What a failure means for an event: wait it out (transient) or park the event (deterministic).

The one classification every consumer uses (`IdempotentConsumer`). **Transient**: the event is fine,
something it needs is not there right now, and waiting helps: the database unavailable or locked
(SQLAlchemy `OperationalError`, a connection the pool found dropped, the pool's own timeout; raw
DBAPI errors of psycopg and sqlite3 the same), another service not answering (gRPC `UNAVAILABLE`,
`DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, and our `AppError`s carrying those statuses, such as
records' `DependencyUnavailable`), the broker (kafka-python errors it marks retriable, its timeouts
and connection errors), socket timeouts and refused connections, and whatever says so itself
(`Retryable`). **Deterministic**: everything else: the message cannot be decoded (`PoisonMessage`),
the event breaks a rule (an `AppError` such as a refused task), a bug. Retrying those cannot help,
so they are dead-lettered.

A wrapped error is read through its cause (`raise X from exc`, or raised while handling `exc`):
`PipelineFailed` from an `UNAVAILABLE` call is transient. An `AppError` or `PoisonMessage` on the way
decides by itself, so a rule broken while handling a database error stays deterministic.
"""

from __future__ import annotations

import random

import grpc

TRANSIENT_GRPC_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                  grpc.StatusCode.RESOURCE_EXHAUSTED})

# SQLite reports a few mistakes of ours (not of the moment) as OperationalError too: a missing table or
# column, bad SQL. Those are not waited out.
_SQLITE_DETERMINISTIC = ("no such table", "no such column", "syntax error", "has no column named")

# The transient backoff: 0.2 s, doubling, at most 30 s between tries; each wait is drawn from its
# upper half (jitter: replicas that failed together do not retry together).
BACKOFF_START = 0.2
BACKOFF_CAP = 30.0


class Retryable(Exception):
    """A dependency is down: retry the event until it works (never dead-letter it for that)."""


class PoisonMessage(Exception):
    """The message cannot be decoded; retrying will not help."""


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` (or the error it wraps) will likely pass by itself: wait, do not dead-letter."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        verdict = _own_verdict(current)
        if verdict is not None:
            return verdict
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False


def classify(exc: BaseException) -> str:
    """"transient" or "deterministic"."""
    return "transient" if is_transient(exc) else "deterministic"


def backoff(attempt: int, start: float = BACKOFF_START, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait before transient try `attempt` + 1 (attempt counts from 1): capped exponential,
    jittered within its upper half."""
    ceiling = min(cap, start * (2 ** max(0, min(attempt - 1, 30))))
    return random.uniform(ceiling / 2, ceiling)


def describe(exc: BaseException, limit: int = 2000) -> str:
    """The error as a log line and a dead letter's reason show it: its type and message."""
    import traceback

    return "".join(traceback.format_exception_only(exc)).strip()[:limit]


def _own_verdict(exc: BaseException) -> bool | None:
    """True/False when this error decides by itself; None to look at what it wraps."""
    from crm_platform.errors import AppError

    if isinstance(exc, Retryable):
        return True
    if isinstance(exc, PoisonMessage):
        return False
    if isinstance(exc, AppError):
        return exc.status in TRANSIENT_GRPC_CODES
    if isinstance(exc, grpc.RpcError) and callable(getattr(exc, "code", None)):
        try:
            return exc.code() in TRANSIENT_GRPC_CODES
        except Exception:  # noqa: BLE001 - an RpcError without a status: not ours to read
            return None
    database = _database_verdict(exc)
    if database is not None:
        return database
    broker = _broker_verdict(exc)
    if broker is not None:
        return broker
    if isinstance(exc, (ConnectionError, TimeoutError)):  # refused, reset, socket timeouts
        return True
    return None


def _database_verdict(exc: BaseException) -> bool | None:
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.TimeoutError):  # no pooled connection free in time
        return True
    if isinstance(exc, sa.DBAPIError):
        if exc.connection_invalidated:  # the server dropped it; the pool starts over
            return True
        if isinstance(exc, sa.OperationalError):
            return not _sqlite_mistake(exc.orig)
        return None  # IntegrityError, ProgrammingError, DataError: look at nothing else
    if isinstance(exc, sa.DisconnectionError):
        return True
    if _is_instance(exc, "sqlite3", "OperationalError"):
        return not _sqlite_mistake(exc)
    if _is_instance(exc, "psycopg", "OperationalError"):  # raw driver use (COPY, LISTEN)
        return True
    return None


def _sqlite_mistake(orig) -> bool:
    text = str(orig).lower()
    return _is_instance(orig, "sqlite3", "OperationalError") and any(m in text for m in _SQLITE_DETERMINISTIC)


def _broker_verdict(exc: BaseException) -> bool | None:
    try:
        from kafka import errors as kafka_errors
    except ImportError:  # pragma: no cover - every service installs kafka-python
        return None
    if isinstance(exc, (kafka_errors.KafkaTimeoutError, kafka_errors.KafkaConnectionError,
                        kafka_errors.NoBrokersAvailable, kafka_errors.NodeNotReadyError)):
        return True
    if isinstance(exc, kafka_errors.KafkaError):
        return bool(getattr(exc, "retriable", False))
    return None


def _is_instance(exc, module: str, name: str) -> bool:
    """isinstance against a driver's class without importing a driver the service does not use."""
    import sys

    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls is not None and isinstance(exc, cls)


__all__ = ["BACKOFF_CAP", "BACKOFF_START", "PoisonMessage", "Retryable", "TRANSIENT_GRPC_CODES", "backoff",
           "classify", "describe", "is_transient"]
