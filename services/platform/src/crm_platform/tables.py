"""Plumbing tables every service database carries: outbox, processed events, idempotency keys."""

from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData,
                        PrimaryKeyConstraint, String, Table, Text, UniqueConstraint)

BigId = BigInteger().with_variant(Integer(), "sqlite")
NAMING_CONVENTION = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
                     "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}


def service_metadata() -> MetaData:
    """The metadata of one service's database: constraint names that migrations can rely on."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def add_platform_tables(metadata: MetaData) -> dict[str, Table]:
    """Declare the plumbing tables in a service's metadata (so its migrations create them)."""
    outbox = Table(
        "outbox", metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("company_id", String(36), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("aggregate_type", String(50), nullable=False),
        Column("aggregate_id", String(64), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unpublished", "published_at", "id"),
    )
    # The selective column leads each composite key (event_id here, key below): an array lookup for
    # one consumer (`event_id = ANY(...)`) or one company and operation (`key = ANY(...)`) is then an
    # index condition even on a table without statistics, not a filter over the prefix's every row.
    processed = Table(
        "processed_events", metadata,
        Column("consumer", String(100), nullable=False),
        Column("event_id", String(36), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("event_id", "consumer"),
    )
    idempotency = Table(
        "idempotency_keys", metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("company_id", String(36), nullable=False),
        Column("key", String(200), nullable=False),
        Column("operation", String(100), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("response", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("key", "operation", "company_id", name="uq_idempotency_key"),
    )
    return {"outbox": outbox, "processed_events": processed, "idempotency_keys": idempotency}
