"""lead the unique keys of idempotency_keys, processed_events and process_runs with their selective column

Why, and the measured plans: `crm_platform.tables.PLATFORM_KEYS_SELECTIVE_FIRST`.

process_runs: unique (process_id, event_id) -> (event_id, process_id). A process's runs are listed
through ix_process_runs_list, which still starts with process_id. The runs lookup of a batch
(`company_id = … AND process_id IN … AND event_id = ANY(…)`) is an index condition with statistics
(200 ids ~1 ms); without them, from ~10 ids on, the planner still prefers ix_process_runs_company_id
and ix_process_runs_list and filters the array, as it did before.

Revision ID: 1096e43252f3
Revises: af2917c3fab7
Create Date: 2026-11-27 06:00:00

"""
from typing import Sequence, Union

from alembic import op

from crm_platform.tables import PLATFORM_KEYS_SELECTIVE_FIRST, lead_keys_with_selective_column


revision: str = '1096e43252f3'
down_revision: Union[str, Sequence[str], None] = 'af2917c3fab7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


KEYS = {**PLATFORM_KEYS_SELECTIVE_FIRST,
        "process_runs": ("uq_process_runs_process_event", "unique", ["process_id", "event_id"],
                         ["event_id", "process_id"])}


def upgrade() -> None:
    lead_keys_with_selective_column(op, KEYS, upgrade=True)


def downgrade() -> None:
    lead_keys_with_selective_column(op, KEYS, upgrade=False)
