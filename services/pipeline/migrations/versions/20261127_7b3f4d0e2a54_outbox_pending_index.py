"""index only the outbox rows still to publish (partial index ix_outbox_pending)

Why, and the measured polls: `crm_platform.tables.OUTBOX_PENDING`.

Revision ID: 7b3f4d0e2a54
Revises: 9f18c59f22a1
Create Date: 2026-11-27 10:00:00

"""
from typing import Sequence, Union

from alembic import op

from crm_platform.tables import index_pending_outbox_rows


revision: str = '7b3f4d0e2a54'
down_revision: Union[str, Sequence[str], None] = '9f18c59f22a1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    index_pending_outbox_rows(op, upgrade=True)


def downgrade() -> None:
    index_pending_outbox_rows(op, upgrade=False)
