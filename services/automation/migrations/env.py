"""Alembic environment of the automation database."""

from crm_platform.db import run_alembic_env
from crm_automation.adapters.orm import Base

run_alembic_env(Base.metadata)
