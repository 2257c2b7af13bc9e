"""The board's read: the newest deals of many stages at once.

On PostgreSQL it is one statement for all the stages: the stage ids as one array parameter,
`unnest`ed, and a `LATERAL` subquery per id that walks `ix_deals_stage` (company, deleted, stage,
created_at, id) backwards and stops after `per_stage` rows: a nested loop of short index scans,
one round trip instead of one per stage. The statement is built once (building it is ~1 ms of
Python per request). SQLite (a local file, no round trips) keeps one such query per stage.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import String, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from crm_records.adapters.orm import Deal


def _newest(company_id, per_stage):
    """The newest live deals of the company, newest first, `per_stage` at most (the caller adds the stage).

    Plain rows, not ORM objects: nothing here is changed, so no identity map to fill.
    """
    return (select(*Deal.__table__.c).where(Deal.company_id == company_id, Deal.deleted.is_(False))
            .order_by(Deal.created_at.desc(), Deal.id.desc()).limit(per_stage))


def _lateral_query():
    stages = func.unnest(bindparam("stage_ids", type_=ARRAY(String))).table_valued("stage_id") \
        .render_derived(name="stages")
    newest = _newest(bindparam("company_id"), bindparam("per_stage")) \
        .where(Deal.stage_id == stages.c.stage_id).lateral("newest")
    # the order again outside: the nested loop gives it, SQL does not promise it (a sort of a few rows)
    return select(newest).select_from(stages).join(newest, true()) \
        .order_by(newest.c.stage_id, newest.c.created_at.desc(), newest.c.id.desc())


NEWEST_PER_STAGE = _lateral_query()


def newest_deals(s: Session, company_id: str, stage_ids: list[str], per_stage: int) -> dict[str, list]:
    """Stage id -> its newest `per_stage` live deals (rows), newest first; stages without deals are left out."""
    if not stage_ids:
        return {}
    if s.get_bind().dialect.name != "postgresql":
        return {sid: rows for sid in stage_ids
                if (rows := s.execute(_newest(company_id, per_stage).where(Deal.stage_id == sid)).all())}
    out: dict[str, list] = defaultdict(list)
    for row in s.execute(NEWEST_PER_STAGE, {"stage_ids": list(stage_ids), "company_id": company_id,
                                            "per_stage": per_stage}):
        out[row.stage_id].append(row)
    return dict(out)
