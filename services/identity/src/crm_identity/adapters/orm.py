"""Identity tables (SQLAlchemy 2 declarative). Tenant-owned rows mix in TenantScoped."""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_platform.db import TenantScoped, utcnow
from crm_platform.tables import add_platform_tables, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


PLATFORM = add_platform_tables(Base.metadata)
OUTBOX = PLATFORM["outbox"]

# The mailer's poll reads only the mails still to send (the 2026-12-02 migration makes it).
MAIL_DUE = {"name": "ix_outgoing_mail_due", "where": "next_attempt_at IS NOT NULL"}


class Company(Base):
    __tablename__ = "companies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    crm_id: Mapped[str] = mapped_column(String(16), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    # ru, uz or en: the language of its seeded names; "en" for the companies from before it was stored
    language: Mapped[str] = mapped_column(String(8), server_default="en")


class Role(TenantScoped, Base):
    __tablename__ = "roles"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    permissions: Mapped[dict] = mapped_column(JSON)
    system: Mapped[bool] = mapped_column(Boolean, default=False)


class Group(TenantScoped, Base):
    __tablename__ = "groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class User(TenantScoped, Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_company_email", "company_id", "email", unique=True),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(30))
    last_name: Mapped[str] = mapped_column(String(30))
    email: Mapped[str] = mapped_column(String(30), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id"))
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RefreshSession(TenantScoped, Base):
    """One refresh token; tokens rotated from one login share a family (the session id)."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ResetRequest(Base):
    """A forgot-password request, queued so the answer takes the same time whatever the e-mail."""

    __tablename__ = "reset_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    crm_id: Mapped[str] = mapped_column(String(16), default="")
    language: Mapped[str] = mapped_column(String(8), default="ru")
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)


class ResetToken(TenantScoped, Base):
    """A single-use password reset token, kept only as its SHA-256."""

    __tablename__ = "reset_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutgoingMail(Base):
    """An e-mail waiting for the SMTP server; its body is erased once sent or given up.

    Pending while `next_attempt_at` is set (the mailer's due rows: `ix_outgoing_mail_due`); a mailer
    claims a row by setting `claimed_by`/`claimed_until` (a lease) before it talks to SMTP, so several
    mailers never send one mail together. Sent: `sent_at`. Given up (refused for good, or `attempts`
    reached the cap): `failed_at` with `last_error`. Why and how: `crm_identity.adapters.mailer`.
    """

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index(MAIL_DUE["name"], "next_attempt_at", postgresql_where=text(MAIL_DUE["where"]),
                            sqlite_where=text(MAIL_DUE["where"])),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True,
                                                                 default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    claimed_until: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failed_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RateBucket(Base):
    """A token bucket of identity's own attempt limits (login, forgot, reset, current-password checks), kept
    in the database so every identity replica counts the same attempts: `tokens` left at `updated_at`
    (seconds since the epoch). `crm_identity.service_layer.limits` says how it is filled and taken."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
