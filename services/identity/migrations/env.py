"""Alembic environment of the identity database."""

from crm_platform.db import run_alembic_env
from crm_identity.adapters.orm import Base

run_alembic_env(Base.metadata)
