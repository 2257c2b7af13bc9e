"""Moves pipeline orders: when an admin removes a stage (`FunnelChanged`), its records go to the target
stage pipeline names. A system change: no user rules apply; history and events say "system"."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.records.events.v1 import records_events_pb2 as ev
from crm_platform.context import Principal
from crm_platform.db import utcnow
from crm_records.service_layer.kinds import KINDS
from crm_records.service_layer.writes import RecordsBase

log = logging.getLogger(__name__)


class StageMoves(RecordsBase):
    def move_out_of_stage(self, s: Session, p: Principal, entity: str, stage_id: str, target_stage_id: str) -> int:
        """Move every record of a removed stage to its target stage, in the consumer's transaction `s`."""
        kind = KINDS[entity]
        cls = kind.model
        rows = list(s.execute(select(cls).where(cls.stage_id == stage_id).order_by(cls.id).with_for_update()).scalars())
        if not rows:
            return 0
        target = self.stages.context(p, target_stage_id)
        if target is None:
            log.warning("target stage %s of removed stage %s is unknown; records stay", target_stage_id, stage_id)
            return 0
        now = utcnow()
        with self.units.within(s, p.company_id, p.user_id or "system") as uow:
            for row in rows:
                prev_stage, prev_funnel, was = row.stage_id, row.funnel_id, self._counted(kind, row)
                row.stage_id, row.funnel_id, row.updated_at = target.stage_id, target.funnel_id, now
                self._count(uow, kind, was, row)
                self._history(s, p, entity, row.id, "system", "stage_changed",
                              [{"field": "stage_id", "old": prev_stage, "new": target.stage_id}], now)
                uow.publish(row.id, kind.event(kind.stage_changed, kind.snapshot(row, target.group_key),
                                               previous_stage_id=prev_stage, previous_funnel_id=prev_funnel,
                                               source=ev.CHANGE_SOURCE_SYSTEM))
        return len(rows)
