"""idempotency keys belong to a user, and are purged by age

Why: `crm_platform.tables.bind_idempotency_keys_to_user` and `crm_platform.idempotency`.

Revision ID: d1a2b3c4e5f2
Revises: 7b3f4d0e2a54
Create Date: 2026-12-02 15:00:00

"""
from typing import Sequence, Union

from alembic import op

from crm_platform.tables import bind_idempotency_keys_to_user


revision: str = 'd1a2b3c4e5f2'
down_revision: Union[str, Sequence[str], None] = '7b3f4d0e2a54'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    bind_idempotency_keys_to_user(op, upgrade=True)


def downgrade() -> None:
    bind_idempotency_keys_to_user(op, upgrade=False)
