"""the reports' read model: report_deals, report_stays (a deal's stays in stages, from its events),
report_days and report_weeks (what the stays of a stage did each day, each week), report_held (what each
stage holds now)

Why: `crm_records.service_layer.report_feed`. The funnel and team reports count stays, never the history.

Revision ID: c5d8e2f4a1b7
Revises: b7e3f1a9c2d4
Create Date: 2026-12-04 18:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'c5d8e2f4a1b7'
down_revision: Union[str, Sequence[str], None] = 'b7e3f1a9c2d4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AGAIN = "prev_group_entered_at IS NOT NULL"  # crm_records.adapters.orm: the reports' rare stays
REOPENED = "reopened_at IS NOT NULL"
COUNTS = ('entries', 'firsts', 'firsts_won', 'exits', 'entries_won', 'exits_won', 'created', 'reached')


def upgrade() -> None:
    op.create_table('report_deals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('funnel_id', sa.String(length=36), nullable=False),
    sa.Column('stage_group', sa.String(length=16), nullable=False),
    sa.Column('responsible_id', sa.String(length=36), nullable=False),
    sa.Column('amount', BIG_ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_deals'))
    )
    op.create_table('report_stays',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('deal_id', sa.String(length=36), nullable=False),
    sa.Column('funnel_id', sa.String(length=36), nullable=False),
    sa.Column('stage_id', sa.String(length=36), nullable=False),
    sa.Column('stage_group', sa.String(length=16), nullable=False),
    sa.Column('responsible_id', sa.String(length=36), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('prev_entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('prev_left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('prev_group_entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('won_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('amount', BIG_ID, nullable=False),
    sa.Column('deal_created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created', sa.Boolean(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_stays'))
    )
    with op.batch_alter_table('report_stays', schema=None) as batch_op:
        batch_op.create_index('ix_report_stays_deal', ['company_id', 'deal_id', 'entered_at'], unique=False)
        batch_op.create_index('ix_report_stays_again', ['company_id', 'funnel_id', 'entered_at'], unique=False,
                              postgresql_where=sa.text(AGAIN), sqlite_where=sa.text(AGAIN))
        batch_op.create_index('ix_report_stays_reopened', ['company_id', 'funnel_id', 'entered_at'], unique=False,
                              postgresql_where=sa.text(REOPENED), sqlite_where=sa.text(REOPENED))
    for table, span in (("report_days", "day"), ("report_weeks", "week")):
        op.create_table(table,
        sa.Column('company_id', sa.String(length=36), nullable=False),
        sa.Column('funnel_id', sa.String(length=36), nullable=False),
        sa.Column('stage_id', sa.String(length=36), nullable=False),
        sa.Column('responsible_id', sa.String(length=36), nullable=False),
        sa.Column('stage_group', sa.String(length=16), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.Column('reached_amount', BIG_ID, nullable=False),
        sa.Column('reached_days', sa.Float(), nullable=False),
        sa.Column(span, sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('company_id', 'funnel_id', span, 'stage_id', 'responsible_id',
                                name=op.f(f'pk_{table}'))
        )
    op.create_table('report_held',
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('funnel_id', sa.String(length=36), nullable=False),
    sa.Column('stage_id', sa.String(length=36), nullable=False),
    sa.Column('responsible_id', sa.String(length=36), nullable=False),
    sa.Column('stage_group', sa.String(length=16), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('held_won', sa.Integer(), nullable=False),
    sa.Column('held_amount', BIG_ID, nullable=False),
    sa.PrimaryKeyConstraint('company_id', 'funnel_id', 'stage_id', 'responsible_id', name=op.f('pk_report_held'))
    )


def downgrade() -> None:
    op.drop_table('report_held')
    op.drop_table('report_weeks')
    op.drop_table('report_days')
    with op.batch_alter_table('report_stays', schema=None) as batch_op:
        batch_op.drop_index('ix_report_stays_deal')
        batch_op.drop_index('ix_report_stays_reopened')
        batch_op.drop_index('ix_report_stays_again')
    op.drop_table('report_stays')
    op.drop_table('report_deals')
