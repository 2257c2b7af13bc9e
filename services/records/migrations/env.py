"""Alembic environment of the records database."""

from crm_platform.db import run_alembic_env
from crm_records.adapters.orm import Base

run_alembic_env(Base.metadata)
