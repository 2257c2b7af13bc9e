"""lead the unique keys of idempotency_keys and processed_events with their selective column

Why, and the measured plans: `crm_platform.tables.PLATFORM_KEYS_SELECTIVE_FIRST`.

Revision ID: 7145b97ae35a
Revises: 7d8b6b702e90
Create Date: 2026-11-27 06:00:00

"""
from typing import Sequence, Union

from alembic import op

from crm_platform.tables import PLATFORM_KEYS_SELECTIVE_FIRST, lead_keys_with_selective_column


revision: str = '7145b97ae35a'
down_revision: Union[str, Sequence[str], None] = '7d8b6b702e90'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    lead_keys_with_selective_column(op, PLATFORM_KEYS_SELECTIVE_FIRST, upgrade=True)


def downgrade() -> None:
    lead_keys_with_selective_column(op, PLATFORM_KEYS_SELECTIVE_FIRST, upgrade=False)
