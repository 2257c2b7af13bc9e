"""rate buckets: identity's own limits on login, forgot, reset and current-password checks

Why: `crm_identity.service_layer.limits` (every caller of identity's gRPC methods is limited per account
and per calling address, not only the gateway's clients; the buckets live in the database so that every
identity replica counts the same attempts).

Revision ID: a7c3e5f9b2d4
Revises: f1a2b3c4d5e1
Create Date: 2026-12-03 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'a7c3e5f9b2d4'
down_revision: Union[str, Sequence[str], None] = 'f1a2b3c4d5e1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'rate_buckets',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_rate_buckets_updated_at'), 'rate_buckets', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rate_buckets_updated_at'), table_name='rate_buckets')
    op.drop_table('rate_buckets')
