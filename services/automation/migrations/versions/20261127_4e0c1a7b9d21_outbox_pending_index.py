"""index only the outbox rows still to publish (partial index ix_outbox_pending)

Why, and the measured polls: `crm_platform.tables.OUTBOX_PENDING`.

Revision ID: 4e0c1a7b9d21
Revises: 1096e43252f3
Create Date: 2026-11-27 10:00:00

"""
from typing import Sequence, Union

from alembic import op

from crm_platform.tables import index_pending_outbox_rows


revision: str = '4e0c1a7b9d21'
down_revision: Union[str, Sequence[str], None] = '1096e43252f3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    index_pending_outbox_rows(op, upgrade=True)


def downgrade() -> None:
    index_pending_outbox_rows(op, upgrade=False)
