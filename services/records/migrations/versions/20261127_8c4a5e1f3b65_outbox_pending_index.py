"""index only the outbox rows still to publish (partial index ix_outbox_pending)

Why, and the measured polls: `crm_platform.tables.OUTBOX_PENDING`.

Revision ID: 8c4a5e1f3b65
Revises: 07635c12645e
Create Date: 2026-11-27 10:00:00

"""
from typing import Sequence, Union

from alembic import op

from crm_platform.tables import index_pending_outbox_rows


revision: str = '8c4a5e1f3b65'
down_revision: Union[str, Sequence[str], None] = '07635c12645e'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    index_pending_outbox_rows(op, upgrade=True)


def downgrade() -> None:
    index_pending_outbox_rows(op, upgrade=False)
