"""Alembic environment of the pipeline database."""

from crm_platform.db import run_alembic_env
from crm_pipeline.adapters.orm import Base

run_alembic_env(Base.metadata)
