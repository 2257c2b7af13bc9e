"""Plumbing tables every service database carries: outbox, processed events, idempotency keys, dead letters."""

from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData,
                        PrimaryKeyConstraint, String, Table, Text, UniqueConstraint, text)

BigId = BigInteger().with_variant(Integer(), "sqlite")
NAMING_CONVENTION = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
                     "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}


def service_metadata() -> MetaData:
    """The metadata of one service's database: constraint names that migrations can rely on."""
    return MetaData(naming_convention=NAMING_CONVENTION)


# The relay's poll (`published_at IS NULL ORDER BY id LIMIT n`) reads this partial index: once a row is
# published its new version leaves the index, and an ordered index scan marks the old entries dead as
# it passes them. The index it replaces, (published_at, id), kept an entry for every version a row
# ever had with `published_at` NULL until VACUUM came by; PostgreSQL read those through a bitmap scan,
# which never marks entries dead, so each poll visited every event published since the last VACUUM:
# with records' outbox at 300,000 such entries (the bench; this server runs without autovacuum) a poll
# took 70-280 ms, twenty times a second while events flowed; on this index it takes ~1 ms.
OUTBOX_PENDING = {"name": "ix_outbox_pending", "where": "published_at IS NULL", "replaces": "ix_outbox_unpublished",
                  "replaced_columns": ["published_at", "id"]}


def index_pending_outbox_rows(op, upgrade: bool) -> None:
    """A migration step: the outbox's index of unpublished rows becomes OUTBOX_PENDING (or back)."""
    where = {"postgresql_where": text(OUTBOX_PENDING["where"]), "sqlite_where": text(OUTBOX_PENDING["where"])}
    if upgrade:
        op.create_index(OUTBOX_PENDING["name"], "outbox", ["id"], **where)
        op.drop_index(OUTBOX_PENDING["replaces"], table_name="outbox")
    else:
        op.create_index(OUTBOX_PENDING["replaces"], "outbox", OUTBOX_PENDING["replaced_columns"])
        op.drop_index(OUTBOX_PENDING["name"], table_name="outbox")


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
        # set when the relay gave up on the row (it can never be published, e.g. too large): the row
        # leaves the relay's work, its key's later rows go on, and it is counted for an alert
        Column("parked_at", DateTime(timezone=True), nullable=True),
        # Only the rows still to publish: why, at OUTBOX_PENDING.
        Index(OUTBOX_PENDING["name"], "id", postgresql_where=text(OUTBOX_PENDING["where"]),
              sqlite_where=text(OUTBOX_PENDING["where"])),
    )
    # The selective column leads each composite key (event_id here, key below): why, at
    # PLATFORM_KEYS_SELECTIVE_FIRST.
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
        # the caller the key belongs to: a key is one user's (and one company's), never shared
        Column("user_id", String(36), nullable=False, server_default=""),
        Column("request_hash", String(64), nullable=False),
        Column("response", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("key", "operation", "company_id", "user_id", name="uq_idempotency_key"),
        Index("ix_idempotency_keys_created_at", "created_at"),  # the purge after the retention window
    )
    # An event a consumer could not apply for a deterministic reason (it cannot be decoded, or it breaks
    # a rule): kept with its reason until an operator redrives it (`python -m crm_<service> dlq`).
    dead_letters = Table(
        "dead_letters", metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("consumer", String(100), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("key", LargeBinary, nullable=True),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("event_id", String(36), nullable=True),
        Column("event_type", String(200), nullable=True),
        Column("company_id", String(36), nullable=True),
        Column("reason", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("redriven_at", DateTime(timezone=True), nullable=True),
        UniqueConstraint("consumer", "topic", "partition", "offset", name="uq_dead_letters_position"),
        Index("ix_dead_letters_pending", "consumer", "id", postgresql_where=text("redriven_at IS NULL"),
              sqlite_where=text("redriven_at IS NULL")),
    )
    return {"outbox": outbox, "processed_events": processed, "idempotency_keys": idempotency,
            "dead_letters": dead_letters}


def lead_keys_with_selective_column(op, tables: dict[str, tuple[str, str, list[str], list[str]]],
                                    upgrade: bool) -> None:
    """A migration step: recreate unique keys with another column order, keeping their names.

    `tables` maps a table to (constraint name, "unique" or "primary", old columns, new columns);
    `upgrade` False restores the old order (tables in reverse). Batch operations: a table recreate
    on SQLite; on PostgreSQL DROP/ADD CONSTRAINT in the migration's transaction (the new index is
    built under an exclusive lock of the table). Used by the 2026-11-27 revision of every service;
    a later change of a key is a new call with its own columns, so that revision stays as it ran.
    """
    items = list(tables.items()) if upgrade else list(reversed(tables.items()))
    for table, (name, kind, old, new) in items:
        with op.batch_alter_table(table, schema=None) as batch:
            batch.drop_constraint(op.f(name), type_=kind)
            columns = new if upgrade else old
            if kind == "primary":
                batch.create_primary_key(op.f(name), columns)
            else:
                batch.create_unique_constraint(op.f(name), columns)


# The platform tables' keys before and after the 2026-11-27 revision: without statistics (a new
# table, or a server with autovacuum off) the planner expects the leading columns of a composite
# unique index to match a few rows and filters an array on its last column over the whole prefix
# (records' replay lookup `company_id = … AND operation = … AND key = ANY(…)` read all 100,000 keys
# of a company for 4 keys, 140-300 ms). With the selective column first the array is the index
# condition, analyzed or not (0.02-0.07 ms; a consumer's check of 200 event ids 40 ms -> 0.5 ms).
PLATFORM_KEYS_SELECTIVE_FIRST = {
    "idempotency_keys": ("uq_idempotency_key", "unique", ["company_id", "operation", "key"],
                         ["key", "operation", "company_id"]),
    "processed_events": ("pk_processed_events", "primary", ["consumer", "event_id"], ["event_id", "consumer"]),
}


def bind_idempotency_keys_to_user(op, upgrade: bool) -> None:
    """A migration step (the 2026-12-02 revision of every service): idempotency keys get the user they
    belong to, in their unique key, and an index on their age for the purge. Existing keys keep an empty
    user: they answer no one's retry any more, and the purge removes them after the retention window."""
    import sqlalchemy as sa

    with op.batch_alter_table("idempotency_keys", schema=None) as batch:
        if upgrade:
            batch.add_column(sa.Column("user_id", sa.String(36), nullable=False, server_default=""))
            batch.drop_constraint(op.f("uq_idempotency_key"), type_="unique")
            batch.create_unique_constraint(op.f("uq_idempotency_key"), ["key", "operation", "company_id", "user_id"])
            batch.create_index("ix_idempotency_keys_created_at", ["created_at"])
        else:
            batch.drop_index("ix_idempotency_keys_created_at")
            batch.drop_constraint(op.f("uq_idempotency_key"), type_="unique")
            batch.create_unique_constraint(op.f("uq_idempotency_key"), ["key", "operation", "company_id"])
            batch.drop_column("user_id")


def add_dead_letters_and_parked_rows(op, upgrade: bool) -> None:
    """A migration step (the second 2026-12-02 revision of every service): the `dead_letters` table of
    `add_platform_tables` and the outbox's `parked_at`."""
    import sqlalchemy as sa

    if upgrade:
        op.create_table(
            "dead_letters",
            sa.Column("id", BigId, primary_key=True, autoincrement=True),
            sa.Column("consumer", sa.String(100), nullable=False),
            sa.Column("topic", sa.String(200), nullable=False),
            sa.Column("partition", sa.Integer(), nullable=False),
            sa.Column("offset", sa.BigInteger(), nullable=False),
            sa.Column("key", sa.LargeBinary(), nullable=True),
            sa.Column("value", sa.LargeBinary(), nullable=False),
            sa.Column("headers", sa.JSON(), nullable=False),
            sa.Column("event_id", sa.String(36), nullable=True),
            sa.Column("event_type", sa.String(200), nullable=True),
            sa.Column("company_id", sa.String(36), nullable=True),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("redriven_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
            sa.UniqueConstraint("consumer", "topic", "partition", "offset", name="uq_dead_letters_position"),
        )
        op.create_index("ix_dead_letters_pending", "dead_letters", ["consumer", "id"],
                        postgresql_where=text("redriven_at IS NULL"), sqlite_where=text("redriven_at IS NULL"))
        with op.batch_alter_table("outbox", schema=None) as batch:
            batch.add_column(sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    else:
        with op.batch_alter_table("outbox", schema=None) as batch:
            batch.drop_column("parked_at")
        op.drop_index("ix_dead_letters_pending", table_name="dead_letters")
        op.drop_table("dead_letters")
