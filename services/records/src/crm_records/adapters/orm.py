"""Records tables (SQLAlchemy 2 declarative). Tenant-owned rows mix in TenantScoped (TenantLed where
every index of the table starts with company_id).

Indexes follow the list screens: every list is scoped by company, hides or shows deleted rows,
filters by stage/funnel/responsible and pages by keyset on (created_at, id).
"""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, Index, Integer, PrimaryKeyConstraint, String, \
    Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_platform.db import TenantLed, TenantScoped
from crm_platform.tables import BigId, add_platform_tables, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


PLATFORM = add_platform_tables(Base.metadata)
OUTBOX = PLATFORM["outbox"]
PROCESSED = PLATFORM["processed_events"]
IDEMPOTENCY = PLATFORM["idempotency_keys"]

Money = BigInteger().with_variant(Integer(), "sqlite")
# the reports' rare stays (partial indexes): a deal back in a stage or group it was in, a final stage left
AGAIN = "prev_group_entered_at IS NOT NULL"
REOPENED = "reopened_at IS NOT NULL"


def substring_indexes(table: str, *columns: str) -> list[Index]:
    """Trigram indexes (PostgreSQL's pg_trgm) that serve `q`'s `LIKE '%text%'` on `columns`: the client
    picker's typeahead by name, e-mail or phone digits and the board's search. Without them each such
    search reads every row of the company (a 9-digit phone over 100,000 clients: 109 ms). SQLite has no
    such index: it keeps the scan."""
    return [Index(f"ix_{table}_{column}_trgm", column, postgresql_using="gin",
                  postgresql_ops={column: "gin_trgm_ops"}).ddl_if(dialect="postgresql") for column in columns]


class Client(TenantLed, Base):
    __tablename__ = "clients"
    __table_args__ = (
        Index("ix_clients_list", "company_id", "deleted", "created_at", "id"),
        Index("ix_clients_stage", "company_id", "deleted", "stage_id", "created_at", "id"),
        Index("ix_clients_funnel", "company_id", "deleted", "funnel_id", "created_at", "id"),
        Index("ix_clients_responsible", "company_id", "deleted", "responsible_id", "created_at", "id"),
        Index("ix_clients_phone", "company_id", "phone"),
        *substring_indexes("clients", "name_lc", "phone"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_lc: Mapped[str] = mapped_column(String(600))  # lower-cased name and e-mail, for `q`
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # E.164
    phone_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    funnel_id: Mapped[str] = mapped_column(String(36))
    stage_id: Mapped[str] = mapped_column(String(36))
    responsible_id: Mapped[str] = mapped_column(String(36))
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(36))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class Deal(TenantLed, Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_list", "company_id", "deleted", "created_at", "id"),
        Index("ix_deals_stage", "company_id", "deleted", "stage_id", "created_at", "id"),
        Index("ix_deals_funnel", "company_id", "deleted", "funnel_id", "created_at", "id"),
        Index("ix_deals_responsible", "company_id", "deleted", "responsible_id", "created_at", "id"),
        Index("ix_deals_client", "company_id", "client_id"),
        *substring_indexes("deals", "title_lc"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    title_lc: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(Money, default=0)  # tiyin
    client_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    funnel_id: Mapped[str] = mapped_column(String(36))
    stage_id: Mapped[str] = mapped_column(String(36))
    responsible_id: Mapped[str] = mapped_column(String(36))
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(36))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class Task(TenantLed, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_due", "company_id", "due_at", "id"),
        Index("ix_tasks_deal", "company_id", "deal_id"),
        Index("ix_tasks_client", "company_id", "client_id"),
        Index("ix_tasks_responsible", "company_id", "responsible_id", "done", "due_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(50))
    comment: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    responsible_id: Mapped[str] = mapped_column(String(36))
    deal_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(36))
    process_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class TaskType(TenantScoped, Base):
    """A task type a company added to the built-in ones."""

    __tablename__ = "task_types"
    __table_args__ = (Index("uq_task_types_company_key", "company_id", "key", unique=True),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


class History(TenantLed, Base):
    """One change of a record: who, when, what (a list of field, old, new)."""

    __tablename__ = "history"
    __table_args__ = (Index("ix_history_record", "company_id", "entity", "record_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(12))
    action: Mapped[str] = mapped_column(String(30))
    changes: Mapped[list] = mapped_column(JSON, default=list)


class Note(TenantLed, Base):
    """A text a user wrote on a deal or a client; listed newest first per record."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_record", "company_id", "entity", "record_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entity: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[str] = mapped_column(String(36))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


class Company(Base):
    """A company's time zone, kept from identity's CompanyCreated (what "today" of the task lists means)."""

    __tablename__ = "companies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))


class Counter(Base):
    """The company's last autonumber of one field; bumped in the saving transaction."""

    __tablename__ = "autonumber_counters"
    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entity: Mapped[str] = mapped_column(String(10), primary_key=True)
    field_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)


class StageTotal(Base):
    """Count and sum (tiyin) of a stage's live deals, kept in step by `adapters.totals` for `/board`."""

    __tablename__ = "deal_stage_totals"
    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stage_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    funnel_id: Mapped[str] = mapped_column(String(36))
    deals: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    amount: Mapped[int] = mapped_column(Money, default=0)


class ReportDeal(TenantLed, Base):
    """The reports' read model of a deal (`service_layer.report_feed`, from records' own deal events): its
    funnel, stage group, responsible, amount, creation time and deleted flag as its events left them, which
    its next stay starts from. Read by id only."""

    __tablename__ = "report_deals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    funnel_id: Mapped[str] = mapped_column(String(36))
    stage_group: Mapped[str] = mapped_column(String(16))
    responsible_id: Mapped[str] = mapped_column(String(36))
    amount: Mapped[int] = mapped_column(Money, default=0)  # tiyin
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class ReportStay(TenantLed, Base):
    """One stay of a deal in a stage: from the event that put it there to the one that took it away
    (`left_at` null: it is still there). What makes a deal count once, and whether it went on to win, is kept
    on its stays: `prev_entered_at` / `prev_left_at`, the deal's previous stay in the same stage (null: none);
    `prev_group_entered_at`, its previous stay in a stage of the same group (a second win is the same won
    deal); `won_at`, when the deal first reached a successful stage after this stay began; `amount` and
    `deal_created_at`, the deal's (its amount kept current), for the won sums and the days to win.

    The reports read their days (`ReportDay`); a stay is read only when it is a deal's return to a stage or
    a group, or a deal leaving a final stage: rare rows, each kind with a partial index of its own."""

    __tablename__ = "report_stays"
    __table_args__ = (
        Index("ix_report_stays_deal", "company_id", "deal_id", "entered_at"),
        Index("ix_report_stays_again", "company_id", "funnel_id", "entered_at",
              postgresql_where=text(AGAIN), sqlite_where=text(AGAIN)),
        Index("ix_report_stays_reopened", "company_id", "funnel_id", "entered_at",
              postgresql_where=text(REOPENED), sqlite_where=text(REOPENED)),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deal_id: Mapped[str] = mapped_column(String(36))
    funnel_id: Mapped[str] = mapped_column(String(36))
    stage_id: Mapped[str] = mapped_column(String(36))
    stage_group: Mapped[str] = mapped_column(String(16))
    responsible_id: Mapped[str] = mapped_column(String(36))
    entered_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    prev_entered_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    prev_left_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    prev_group_entered_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    won_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # when the deal left this stay of a final stage (it was won or lost, and taken back into work)
    reopened_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    amount: Mapped[int] = mapped_column(Money, default=0)  # tiyin
    deal_created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    created: Mapped[bool] = mapped_column(Boolean, default=False)  # the deal was created in this stay
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)  # the deal is deleted (it leaves the reports)


class StayCounts:
    """What the stays of one stage and one responsible user did in a span of the company's days (a day's,
    a week's): the columns `report_feed.counts` adds up."""

    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    funnel_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stage_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    responsible_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stage_group: Mapped[str] = mapped_column(String(16))
    entries: Mapped[int] = mapped_column(Integer, default=0)  # stays that began then
    firsts: Mapped[int] = mapped_column(Integer, default=0)  # … that were the deal's first in the stage
    firsts_won: Mapped[int] = mapped_column(Integer, default=0)  # … of those, of deals that won after
    exits: Mapped[int] = mapped_column(Integer, default=0)  # stays that ended then
    entries_won: Mapped[int] = mapped_column(Integer, default=0)  # entries of deals that won after
    exits_won: Mapped[int] = mapped_column(Integer, default=0)  # exits of deals that won after
    created: Mapped[int] = mapped_column(Integer, default=0)  # deals created then
    reached: Mapped[int] = mapped_column(Integer, default=0)  # first entries into the stage's (final) group
    reached_amount: Mapped[int] = mapped_column(Money, default=0)  # … their deals' amounts (tiyin)
    reached_days: Mapped[float] = mapped_column(Float, default=0.0)  # … days from their deals' creation


class ReportDay(StayCounts, Base):
    """A day's counts of the company's: a report of any period sums its days at its edges and its whole weeks
    (`ReportWeek`) between, never its stays. Kept by `report_feed` in the same transaction as the stays it
    counts (each change of a stay takes its old counts away and adds its new ones)."""

    __tablename__ = "report_days"
    __table_args__ = (PrimaryKeyConstraint("company_id", "funnel_id", "day", "stage_id", "responsible_id"),)
    day: Mapped[_dt.date] = mapped_column(Date, primary_key=True)


class ReportWeek(StayCounts, Base):
    """A week's counts (Monday to Sunday of the company's days): the sum of its seven days, kept with them."""

    __tablename__ = "report_weeks"
    __table_args__ = (PrimaryKeyConstraint("company_id", "funnel_id", "week", "stage_id", "responsible_id"),)
    week: Mapped[_dt.date] = mapped_column(Date, primary_key=True)  # its Monday


class ReportHeld(Base):
    """How many live deals each stage holds now per responsible user (how many of them won after coming in, and
    their amount: the team's open deals):
    the sum of all its days' entries less exits, kept with them. What sat in a stage when a recent period
    began is this less the days since, so a report reads the days since its start or before it, whichever
    are fewer."""

    __tablename__ = "report_held"
    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    funnel_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stage_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    responsible_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stage_group: Mapped[str] = mapped_column(String(16))
    held: Mapped[int] = mapped_column(Integer, default=0)
    held_won: Mapped[int] = mapped_column(Integer, default=0)
    held_amount: Mapped[int] = mapped_column(Money, default=0)  # their amounts now (tiyin)
