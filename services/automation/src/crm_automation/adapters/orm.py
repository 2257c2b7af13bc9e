"""Automation tables: processes, their runs, and the companies' time zones (read model)."""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_platform.db import TenantScoped
from crm_platform.tables import add_platform_tables, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


PLATFORM = add_platform_tables(Base.metadata)


class Company(Base):
    """A company's time zone, kept from identity's CompanyCreated events."""

    __tablename__ = "companies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))


class Process(TenantScoped, Base):
    __tablename__ = "processes"
    __table_args__ = (Index("ix_processes_trigger", "company_id", "trigger_event", "enabled"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    type: Mapped[str] = mapped_column(String(20))
    trigger_event: Mapped[str] = mapped_column(String(50))
    trigger_stage_id: Mapped[str] = mapped_column(String(36), default="")
    funnel_id: Mapped[str] = mapped_column(String(36), default="")
    stage_group: Mapped[str] = mapped_column(String(20), default="")
    due: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str] = mapped_column(String(20))
    task_type: Mapped[str] = mapped_column(String(50))
    comment: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    author_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProcessRun(TenantScoped, Base):
    """One process acting on one event; unique per (process, event), so a replay runs nothing twice.

    The unique key leads with event_id, which the runs of a batch are looked up by; listing a
    process's runs goes through ix_process_runs_list."""

    __tablename__ = "process_runs"
    __table_args__ = (UniqueConstraint("event_id", "process_id", name="uq_process_runs_process_event"),
                      Index("ix_process_runs_list", "process_id", "created_at", "id"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(36))
    event_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(50))
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(36))
    outcome: Mapped[str] = mapped_column(String(20))
    task_id: Mapped[str] = mapped_column(String(36), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
