"""Pipeline tables (SQLAlchemy 2 declarative). Tenant-owned rows mix in TenantScoped."""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_platform.db import TenantScoped
from crm_platform.tables import add_platform_tables, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


PLATFORM = add_platform_tables(Base.metadata)
OUTBOX = PLATFORM["outbox"]
PROCESSED_EVENTS = PLATFORM["processed_events"]


class CompanySetup(Base):
    """A company whose default funnels exist; the primary key makes seeding happen once."""

    __tablename__ = "company_setups"
    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seeded_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


class Funnel(TenantScoped, Base):
    __tablename__ = "funnels"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=1)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


class Stage(TenantScoped, Base):
    """A stage of a funnel; removed stages stay (removed_at, moved_to) so late readers can follow them."""

    __tablename__ = "stages"
    __table_args__ = (Index("ix_stages_funnel_order", "funnel_id", "group_key", "position"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    funnel_id: Mapped[str] = mapped_column(ForeignKey("funnels.id"))
    group_key: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(50))
    color: Mapped[str] = mapped_column(String(7))
    position: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    moved_to_stage_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class FieldDefinition(TenantScoped, Base):
    __tablename__ = "field_definitions"
    __table_args__ = (Index("uq_field_definitions_key", "company_id", "entity", "key", unique=True),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
