"""companies.language: the language of a company's seeded names (ru, uz, en)

Why: a sign-up names its company's roles, group, funnels, stages and task types in the language it asks
for (Russian by default), and `GET /api/v1/me` answers it. The companies from before were seeded in
English and keep their names: the column's default, which they take, is "en" (new companies always
name theirs).

Revision ID: b4e8d2a6c1f3
Revises: a7c3e5f9b2d4
Create Date: 2026-12-03 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'b4e8d2a6c1f3'
down_revision: Union[str, Sequence[str], None] = 'a7c3e5f9b2d4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('language')
