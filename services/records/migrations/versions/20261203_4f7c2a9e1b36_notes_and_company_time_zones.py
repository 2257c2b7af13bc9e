"""notes on deals and clients; companies' time zones (what "today" of the task lists means)

Revision ID: 4f7c2a9e1b36
Revises: e1a2b3c4d5f3
Create Date: 2026-12-03 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '4f7c2a9e1b36'
down_revision: Union[str, Sequence[str], None] = 'e1a2b3c4d5f3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create the notes (listed newest first per record) and the companies' time zones."""
    op.create_table('notes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('entity', sa.String(length=10), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index('ix_notes_record', ['company_id', 'entity', 'record_id', 'created_at', 'id'],
                              unique=False)
    op.create_table('companies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companies'))
    )


def downgrade() -> None:
    op.drop_table('companies')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index('ix_notes_record')
    op.drop_table('notes')
