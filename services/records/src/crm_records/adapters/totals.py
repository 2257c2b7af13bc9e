"""Per-stage deal totals (count and sum of the live deals), kept on every write for `/board`.

Counting a stage of a million deals takes seconds; reading one counter row per stage takes
microseconds. The counters follow the deals through the unit of work itself: `before_flush`
reads each new or changed deal's old and new (stage, funnel, amount, deleted) and adds the
difference to the session's pending deltas; `before_commit` applies them in one upsert, its rows
in stage-id order (two transactions touching the same stages lock them in the same order, so
they cannot deadlock), in the same transaction as the change. A rolled-back transaction drops
its deltas. Bulk SQL UPDATEs of deals bypass this and may only change other columns
(responsible, updated_at).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm_records.adapters.orm import Deal, StageTotal

PENDING = "records_stage_deltas"
_TRACKED = ("stage_id", "funnel_id", "amount", "deleted")


def _state(deal: Deal, old: bool) -> tuple | None:
    """The deal's (company, stage, funnel, amount) before or after the flush; None when not counted."""
    values = []
    insp = inspect(deal)
    for name in _TRACKED:
        hist = insp.attrs[name].history
        if old:
            value = hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged else None)
        else:
            value = hist.added[0] if hist.added else (hist.unchanged[0] if hist.unchanged else None)
        values.append(value)
    stage_id, funnel_id, amount, deleted = values
    if deleted or stage_id is None:
        return None
    return deal.company_id, stage_id, funnel_id, int(amount or 0)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _ctx, _instances) -> None:
    deltas = None
    for obj, is_new in [(o, True) for o in session.new] + [(o, False) for o in session.dirty] \
            + [(o, None) for o in session.deleted]:
        if not isinstance(obj, Deal):
            continue
        before = None if is_new else _state(obj, old=True)
        after = None if is_new is None else _state(obj, old=False)
        if before == after:
            continue
        if deltas is None:
            deltas = session.info.setdefault(PENDING, defaultdict(lambda: [0, 0]))
        for state, sign in ((before, -1), (after, 1)):
            if state is not None:
                company_id, stage_id, funnel_id, amount = state
                d = deltas[(company_id, stage_id, funnel_id)]
                d[0] += sign
                d[1] += sign * amount


@event.listens_for(Session, "before_commit")
def _apply(session: Session) -> None:
    session.flush()  # changes still in memory add their deltas now
    deltas = session.info.pop(PENDING, None)
    if not deltas:
        return
    rows: dict[tuple[str, str], dict] = {}
    for (company_id, stage_id, funnel_id), (n, amount) in sorted(deltas.items()):
        row = rows.setdefault((company_id, stage_id), {"company_id": company_id, "stage_id": stage_id,
                                                       "funnel_id": funnel_id, "deals": 0, "amount": 0})
        row["deals"] += n
        row["amount"] += amount
    rows = {k: r for k, r in rows.items() if r["deals"] or r["amount"]}
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StageTotal).values(
        [rows[k] for k in sorted(rows)])
    session.execute(stmt.on_conflict_do_update(index_elements=["company_id", "stage_id"], set_={
        "funnel_id": stmt.excluded.funnel_id, "deals": StageTotal.deals + stmt.excluded.deals,
        "amount": StageTotal.amount + stmt.excluded.amount}))


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(PENDING, None)


# Recount every stage from the deals (after a bulk load that bypassed the ORM: the bench's COPY).
REBUILD = ("DELETE FROM deal_stage_totals",
           "INSERT INTO deal_stage_totals (company_id, stage_id, funnel_id, deals, amount) "
           "SELECT company_id, stage_id, MIN(funnel_id), COUNT(*), COALESCE(SUM(amount), 0) "
           "FROM deals WHERE deleted = false GROUP BY company_id, stage_id")
