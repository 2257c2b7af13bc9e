"""CLICK payments: the reversal of a second payment of an already paid order

Why: `crm_billing.service_layer.reversals` (a second paid Complete is answered with success, as
click.md 2.4 asks after a debit, and its money is returned through the Merchant API's
`DELETE payment/reversal`, retried with a backoff).

Revision ID: f1a2b3c4d5e5
Revises: e1a2b3c4d5f5
Create Date: 2026-12-02 20:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'f1a2b3c4d5e5'
down_revision: Union[str, Sequence[str], None] = 'e1a2b3c4d5f5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DUE = "reversal_next_at IS NOT NULL"  # crm_billing.adapters.orm.REVERSAL_DUE, as it was at this revision


def upgrade() -> None:
    with op.batch_alter_table('click_transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reversal_next_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reversal_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('reversal_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_click_transactions_reversal_due', 'click_transactions', ['reversal_next_at'],
                    postgresql_where=sa.text(DUE), sqlite_where=sa.text(DUE))


def downgrade() -> None:
    op.drop_index('ix_click_transactions_reversal_due', table_name='click_transactions')
    with op.batch_alter_table('click_transactions', schema=None) as batch_op:
        batch_op.drop_column('reversed_at')
        batch_op.drop_column('reversal_error')
        batch_op.drop_column('reversal_attempts')
        batch_op.drop_column('reversal_next_at')
