"""drop the single-column company_id indexes of clients, deals, tasks and history

Every other index of these tables starts with company_id, so no query needs them; each was one more
B-tree for every insert and every non-HOT update (a new responsible for 10,000 deals is one).

Revision ID: c3d4e5f6a7b8
Revises: 5b1e0c7d9a21
Create Date: 2026-11-27 03:40:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = 'c3d4e5f6a7b8'
down_revision: Union[str, Sequence[str], None] = '5b1e0c7d9a21'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("clients", "deals", "tasks", "history")


def upgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_company_id", table_name=table)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_company_id", table, ["company_id"], unique=False)
