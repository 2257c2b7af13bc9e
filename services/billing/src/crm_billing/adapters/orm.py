"""Billing tables (SQLAlchemy 2 declarative). Tenant-owned rows mix in TenantScoped."""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_platform.db import TenantScoped
from crm_platform.tables import BigId, add_platform_tables, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


PLATFORM = add_platform_tables(Base.metadata)
OUTBOX = PLATFORM["outbox"]
PROCESSED = PLATFORM["processed_events"]


class Subscription(Base):
    """One per company: seats, the prepaid period (whole Unix seconds) and the seat-second remainder."""

    __tablename__ = "subscriptions"
    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan: Mapped[str] = mapped_column(String(16))  # trial | paid
    seats: Mapped[int] = mapped_column(Integer)
    active_users: Mapped[int] = mapped_column(Integer, default=0)
    paid_until: Mapped[int] = mapped_column(BigInteger)
    remainder: Mapped[int] = mapped_column(BigInteger, default=0)
    seats_paid: Mapped[int] = mapped_column(Integer, default=0)
    as_of: Mapped[int] = mapped_column(BigInteger)  # Unix seconds of the last recalculation
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


class SeatUser(TenantScoped, Base):
    """A user counted as a seat while active (makes user events naturally idempotent too)."""

    __tablename__ = "seat_users"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    active: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


class Order(TenantScoped, Base):
    """A purchase of seats for months; its id is CLICK's merchant_trans_id."""

    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seats: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    amount_tiyin: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # pending | paid | cancelled
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    invoice_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    invoice_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)


class InvoiceSent(TenantScoped, Base):
    """One invoice CLICK was asked to send (an SMS to `phone`): the caps of `send_invoice` count these."""

    __tablename__ = "invoices_sent"
    __table_args__ = (Index("ix_invoices_sent_phone", "phone", "created_at"),
                      Index("ix_invoices_sent_order", "order_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    phone: Mapped[str] = mapped_column(String(20))
    invoice_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


# The reverser's poll reads only the payments still to reverse (the 2026-12-02 migration makes it).
REVERSAL_DUE = {"name": "ix_click_transactions_reversal_due", "where": "reversal_next_at IS NOT NULL"}


class ClickTransaction(TenantScoped, Base):
    """One CLICK payment attempt, unique on click_trans_id; its id is merchant_prepare_id/confirm_id.

    A second payment of an order that another attempt paid already is `reversing` while its money is
    being returned (`DELETE payment/reversal`, due at `reversal_next_at`), then `reversed`, or
    `reversal_failed` with `reversal_error` once the attempts ran out (a person must return it)."""

    __tablename__ = "click_transactions"
    __table_args__ = (UniqueConstraint("click_trans_id", name="uq_click_transactions_click_trans_id"),
                      Index("ix_click_transactions_order", "order_id"),
                      Index(REVERSAL_DUE["name"], "reversal_next_at", postgresql_where=text(REVERSAL_DUE["where"]),
                            sqlite_where=text(REVERSAL_DUE["where"])))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    click_trans_id: Mapped[int] = mapped_column(BigInteger)
    click_paydoc_id: Mapped[str] = mapped_column(String(32), default="")
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    amount: Mapped[str] = mapped_column(String(32))  # raw, as received
    sign_time: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # prepared | completed | cancelled
    click_error: Mapped[int] = mapped_column(Integer, default=0)
    error_note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reversal_next_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reversal_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reversal_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    reversed_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
