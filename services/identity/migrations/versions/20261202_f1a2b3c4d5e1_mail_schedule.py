"""outgoing mail: a next-attempt time, a claim (lease) and a failed state

Why: `crm_identity.adapters.mailer` (several mailers claim rows; attempts are capped with a
backoff; a refused mail is given up instead of blocking the queue). Pending mails get a
next-attempt time of now, so the ones waiting at the upgrade go out at once.

Revision ID: f1a2b3c4d5e1
Revises: e1a2b3c4d5f1
Create Date: 2026-12-02 20:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'f1a2b3c4d5e1'
down_revision: Union[str, Sequence[str], None] = 'e1a2b3c4d5f1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DUE = "next_attempt_at IS NOT NULL"  # crm_identity.adapters.orm.MAIL_DUE, as it was at this revision


def upgrade() -> None:
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE outgoing_mail SET next_attempt_at = CURRENT_TIMESTAMP WHERE sent_at IS NULL")
    op.create_index('ix_outgoing_mail_due', 'outgoing_mail', ['next_attempt_at'],
                    postgresql_where=sa.text(DUE), sqlite_where=sa.text(DUE))


def downgrade() -> None:
    op.drop_index('ix_outgoing_mail_due', table_name='outgoing_mail')
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('next_attempt_at')
