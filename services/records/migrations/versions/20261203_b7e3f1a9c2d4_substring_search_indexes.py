"""trigram indexes for `q` (PostgreSQL): clients' name_lc and phone, deals' title_lc

Why: `crm_records.adapters.orm.substring_indexes`. SQLite gets none (it has no such index).

Revision ID: b7e3f1a9c2d4
Revises: 4f7c2a9e1b36
Create Date: 2026-12-03 15:00:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = 'b7e3f1a9c2d4'
down_revision: Union[str, Sequence[str], None] = '4f7c2a9e1b36'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = [("clients", "name_lc"), ("clients", "phone"), ("deals", "title_lc")]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}_trgm", table, [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in INDEXES:
        op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
