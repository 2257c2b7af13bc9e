"""index only the outbox rows still to publish (partial index ix_outbox_pending)

Why, and the measured polls: `crm_platform.tables.OUTBOX_PENDING`.

Revision ID: 5f1d2b8c0e32
Revises: cc0d798423ed
Create Date: 2026-11-27 10:00:00

"""
from typing import Sequence, Union

from alembic import op

from crm_platform.tables import index_pending_outbox_rows


revision: str = '5f1d2b8c0e32'
down_revision: Union[str, Sequence[str], None] = 'cc0d798423ed'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    index_pending_outbox_rows(op, upgrade=True)


def downgrade() -> None:
    index_pending_outbox_rows(op, upgrade=False)
