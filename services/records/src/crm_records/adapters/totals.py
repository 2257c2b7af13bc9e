"""Per-stage deal totals (count and sum of the live deals), kept on every write for `/board`.

Counting a stage of a million deals takes seconds; reading one counter row per stage takes
microseconds. The write path says what each change does to them: `StageTotals.of(uow)` is the
unit of work's tracker, `move(before, counted(deal))` adds a deal's old and new (stage, funnel,
amount) to its deltas, and the unit applies them as its last write (`UnitOfWork.before_commit`), in
one upsert whose rows are in stage-id order (two transactions touching the same stages lock them in
the same order, so they cannot deadlock), in the same transaction as the change. A rolled-back unit
drops its tracker. Bulk SQL UPDATEs of deals bypass this and may only change other columns
(responsible, updated_at).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm_platform.uow import UnitOfWork
from crm_records.adapters.orm import Deal, StageTotal


def counted(deal: Deal) -> tuple | None:
    """What the deal adds to the counters: (company, stage, funnel, amount); None when deleted."""
    if deal.deleted or deal.stage_id is None:
        return None
    return deal.company_id, deal.stage_id, deal.funnel_id, int(deal.amount or 0)


class StageTotals:
    """The counter deltas of one unit of work."""

    def __init__(self) -> None:
        self.deltas: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])

    @classmethod
    def of(cls, uow: UnitOfWork) -> "StageTotals":
        """The unit's tracker, made (and set to apply before the commit) on first use."""
        tracker = uow.state.get("stage_totals")
        if tracker is None:
            tracker = uow.state["stage_totals"] = cls()
            uow.before_commit(lambda: tracker.apply(uow.session))
        return tracker

    def move(self, before: tuple | None, after: tuple | None) -> None:
        """A deal went from counting as `before` to counting as `after` (`counted`, None: not at all)."""
        if before == after:
            return
        for state, sign in ((before, -1), (after, 1)):
            if state is not None:
                company_id, stage_id, funnel_id, amount = state
                d = self.deltas[(company_id, stage_id, funnel_id)]
                d[0] += sign
                d[1] += sign * amount

    def apply(self, session: Session) -> None:
        """One upsert of every stage whose count or sum changed."""
        rows: dict[tuple[str, str], dict] = {}
        for (company_id, stage_id, funnel_id), (n, amount) in sorted(self.deltas.items()):
            row = rows.setdefault((company_id, stage_id), {"company_id": company_id, "stage_id": stage_id,
                                                           "funnel_id": funnel_id, "deals": 0, "amount": 0})
            row["deals"] += n
            row["amount"] += amount
        self.deltas.clear()
        rows = {k: r for k, r in rows.items() if r["deals"] or r["amount"]}
        if not rows:
            return
        dialect = session.get_bind().dialect.name
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StageTotal).values(
            [rows[k] for k in sorted(rows)])
        session.execute(stmt.on_conflict_do_update(index_elements=["company_id", "stage_id"], set_={
            "funnel_id": stmt.excluded.funnel_id, "deals": StageTotal.deals + stmt.excluded.deals,
            "amount": StageTotal.amount + stmt.excluded.amount}))


# Recount every stage from the deals (after a bulk load that bypassed the ORM: the bench's COPY).
REBUILD = ("DELETE FROM deal_stage_totals",
           "INSERT INTO deal_stage_totals (company_id, stage_id, funnel_id, deals, amount) "
           "SELECT company_id, stage_id, MIN(funnel_id), COUNT(*), COALESCE(SUM(amount), 0) "
           "FROM deals WHERE deleted = false GROUP BY company_id, stage_id")
