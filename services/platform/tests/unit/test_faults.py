"""The one classification of failures: what a consumer waits out, what it dead-letters."""

from __future__ import annotations

import sqlite3

import pytest

from crm_platform import errors, faults
from crm_platform.faults import (


    PoisonMessage,
    Retryable,
    backoff,
    classify,
    is_transient,
)
from crm_platform.messaging import KafkaUnavailable
from kafka import errors as kafka_errors
from sqlalchemy import exc as sa


def _sa(cls, orig, **kw):
    return cls("INSERT INTO effects ...", {}, orig, **kw)


class RecordsDown(Retryable):
    """As a service's own "dependency down" error is declared (automation's RecordsUnavailable)."""


@pytest.mark.parametrize("error", [
    RecordsDown("records did not answer"),
    _sa(sa.OperationalError, sqlite3.OperationalError("database is locked")),
    _sa(sa.OperationalError, sqlite3.OperationalError("unable to open database file")),
    _sa(sa.OperationalError, Exception("connection to server at 127.0.0.1 port 5432 failed: Connection refused")),
    _sa(sa.DBAPIError, Exception("server closed the connection unexpectedly"), connection_invalidated=True),
    sa.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
    sqlite3.OperationalError("database is locked"),
    errors.Unavailable("service_unavailable", "pipeline did not answer"),
    errors.RateLimited("rate_limited"),
    kafka_errors.KafkaTimeoutError("Failed to update metadata after 5.0 secs."),
    kafka_errors.NoBrokersAvailable(),
    kafka_errors.KafkaConnectionError("connection refused"),
    kafka_errors.NotLeaderForPartitionError(),
    kafka_errors.RequestTimedOutError(),
    KafkaUnavailable("3 events not acknowledged"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError("timed out"),
], ids=lambda e: type(e).__name__)
def test_what_passes_by_itself_is_transient(error):
    assert is_transient(error)
    assert classify(error) == "transient"


@pytest.mark.parametrize("error", [
    PoisonMessage("cannot decode crm.identity.events.v1.UserCreated"),
    _sa(sa.IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed: effects.user_id")),
    _sa(sa.OperationalError, sqlite3.OperationalError("no such table: effects")),
    _sa(sa.ProgrammingError, Exception("column \"x\" does not exist")),
    _sa(sa.DataError, Exception("value too long for type character varying(36)")),
    errors.InvalidArgument("invalid", "a rule the event breaks"),
    errors.NotFound("stage_not_found"),
    errors.FailedPrecondition("user_inactive"),
    errors.PermissionDenied("forbidden"),
    kafka_errors.MessageSizeTooLargeError(),
    kafka_errors.TopicAuthorizationFailedError(),
    ValueError("bad value"),
    KeyError("missing"),
    RuntimeError("a bug"),
], ids=lambda e: type(e).__name__)
def test_everything_else_is_deterministic(error):
    assert not is_transient(error)
    assert classify(error) == "deterministic"


def _raised(make):
    try:
        make()
    except Exception as exc:
        return exc
    raise AssertionError("nothing raised")


def test_a_wrapped_error_is_read_through_its_cause():
    locked = _sa(sa.OperationalError, sqlite3.OperationalError("database is locked"))

    def wrapped_with_from():
        raise RuntimeError("pipeline failed") from locked

    def wrapped_while_handling():
        try:
            raise locked
        except sa.OperationalError:
            raise LookupError("while reading the stage")

    def rule_broken_while_handling():
        try:
            raise locked
        except sa.OperationalError:
            raise errors.InvalidArgument("invalid")

    def context_suppressed():
        try:
            raise locked
        except sa.OperationalError:
            raise ValueError("not about the database") from None

    assert is_transient(_raised(wrapped_with_from))
    assert is_transient(_raised(wrapped_while_handling))
    assert not is_transient(_raised(rule_broken_while_handling))  # the rule decides, not the context
    assert not is_transient(_raised(context_suppressed))


def test_a_cycle_of_causes_ends():
    a, b = ValueError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    assert not is_transient(a)


def test_backoff_doubles_from_a_fifth_of_a_second_to_thirty_seconds_with_jitter():
    for attempt, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (8, 25.6), (9, 30.0), (50, 30.0), (10**6, 30.0)]:
        waits = [backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), attempt
        assert len(set(waits)) > 1  # jittered
    assert faults.BACKOFF_START == 0.2 and faults.BACKOFF_CAP == 30.0


def test_describe_names_the_error_and_what_it_said():
    assert faults.describe(errors.NotFound("stage_not_found", "The stage is gone")) \
        == "crm_platform.errors.NotFound: The stage is gone"
    assert len(faults.describe(ValueError("x" * 10_000))) == 2000
