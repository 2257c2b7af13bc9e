"""dead letters kept with their reason; outbox rows the relay gave up on are parked

Why: `crm_platform.tables.add_dead_letters_and_parked_rows`.

Revision ID: e1a2b3c4d5f1
Revises: d1a2b3c4e5f1
Create Date: 2026-12-02 18:30:00

"""
from typing import Sequence, Union

from alembic import op

from crm_platform.tables import add_dead_letters_and_parked_rows


revision: str = 'e1a2b3c4d5f1'
down_revision: Union[str, Sequence[str], None] = 'd1a2b3c4e5f1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_dead_letters_and_parked_rows(op, upgrade=True)


def downgrade() -> None:
    add_dead_letters_and_parked_rows(op, upgrade=False)
