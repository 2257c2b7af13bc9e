"""deal stage totals (count and sum per stage, kept on write, for the board)

Revision ID: 5b1e0c7d9a21
Revises: a6b20dff703a
Create Date: 2026-11-27 00:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '5b1e0c7d9a21'
down_revision: Union[str, Sequence[str], None] = 'a6b20dff703a'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create the counters and count the deals already there."""
    op.create_table('deal_stage_totals',
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('stage_id', sa.String(length=36), nullable=False),
    sa.Column('funnel_id', sa.String(length=36), nullable=False),
    sa.Column('deals', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('company_id', 'stage_id', name=op.f('pk_deal_stage_totals'))
    )
    op.execute("INSERT INTO deal_stage_totals (company_id, stage_id, funnel_id, deals, amount) "
               "SELECT company_id, stage_id, MIN(funnel_id), COUNT(*), COALESCE(SUM(amount), 0) "
               "FROM deals WHERE deleted = false GROUP BY company_id, stage_id")


def downgrade() -> None:
    op.drop_table('deal_stage_totals')
