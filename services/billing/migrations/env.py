"""Alembic environment of the billing database."""

from crm_platform.db import run_alembic_env
from crm_billing.adapters.orm import Base

run_alembic_env(Base.metadata)
