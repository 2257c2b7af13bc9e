"""Deal use cases: create, read (the card, the board, lists, history), edit, delete and restore."""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import or_, select

from crm_platform.context import Principal
from crm_platform.db import utcnow
from crm_platform.errors import AppError, FieldCollector, NotFound
from crm_platform.pagination import keyset_page
from crm_platform.uow import UnitOfWork
from crm_records.adapters.board import newest_deals
from crm_records.adapters.orm import Client, Deal, History, StageTotal, Task
from crm_records.domain import model
from crm_records.domain.model import StageContext
from crm_records.service_layer.kinds import DEAL, SOURCES
from crm_records.service_layer.writes import RecordsBase, diff, fingerprint, like, linkable, new_id, \
    parse_fields_json, source_of

log = logging.getLogger(__name__)


def client_match(text: str):
    """Clients whose name holds `text` (case-insensitive), or whose phone holds its digits (three or more)."""
    conds = [Client.name_lc.contains(like(text), escape="\\")]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 3:
        conds.append(Client.phone.contains(digits))
    return or_(*conds)


class DealUseCases(RecordsBase):
    def create_deal(self, p: Principal, *, title: str, amount: str, client_id: str = "", stage_id: str = "",
                    responsible_id: str = "", fields_json: str = "", idempotency_key: str = "") -> Deal:
        """Create a deal in a stage (default: the deal funnel's first unprocessed stage)."""
        errors = FieldCollector()
        title = model.check_text(errors, "title", title)
        tiyin = model.parse_amount(errors, "amount", amount)
        raw_fields = parse_fields_json(errors, fields_json)
        ctx = self.stages.resolve(p, errors, stage_id, "deal")
        custom = model.clean_custom(errors, ctx.fields, raw_fields) if ctx else {}
        responsible_id = responsible_id or p.user_id
        self._check_user(p, errors, responsible_id)
        request_hash = fingerprint(title=title, amount=tiyin, client_id=client_id, stage_id=stage_id,
                                   responsible_id=responsible_id, fields=raw_fields)

        def work(uow: UnitOfWork) -> str:
            s = uow.session
            if client_id:
                self._linkable_client(s, errors, client_id)
            errors.raise_if_any()
            now = utcnow()
            after = {"title": title, "amount": tiyin or None, "client_id": client_id or None,
                     "responsible_id": responsible_id, **{k: v for k, v in custom.items() if v is not None}}
            filled = model.enforce_rules(ctx=ctx, previous=None, before={}, after=after, written=set(after),
                                         entering=True, now=now, next_number=self._numbers(s, p.company_id, "deal"))
            values = {k: v for k, v in {**custom, **filled}.items() if v is not None}
            deal = Deal(id=new_id(), company_id=p.company_id, title=title, title_lc=title.lower()[:200],
                        amount=tiyin, client_id=client_id or None, funnel_id=ctx.funnel_id, stage_id=ctx.stage_id,
                        responsible_id=responsible_id, fields=values, created_at=now, updated_at=now,
                        created_by=p.user_id, deleted=False)
            s.add(deal)
            s.flush()
            self._count(uow, DEAL, None, deal)
            full = {**after, **filled, "stage_id": ctx.stage_id}
            self._history(s, p, "deal", deal.id, source_of(p), "created",
                          diff({}, full, list(full), DEAL.builtins + ("stage_id",)), now)
            uow.publish(deal.id, DEAL.event(DEAL.created, DEAL.snapshot(deal, ctx.group_key),
                                            source=SOURCES[source_of(p)]))
            return deal.id

        return self.get_deal(p, self._create_once(p, "CreateDeal", idempotency_key, request_hash, work))

    @staticmethod
    def _linkable_client(s, errors: FieldCollector, client_id: str) -> None:
        linkable(errors, "client_id", s.execute(select(Client.id, Client.deleted).where(Client.id == client_id)).first())

    def get_deal(self, p: Principal, deal_id: str) -> Deal:
        return self._get(p, DEAL, deal_id)

    def deal_card(self, p: Principal, deal_id: str, history_limit: int = 10):
        """The deal, its client, its open tasks and its last history entries."""
        with self.db.session(company_id=p.company_id) as s:
            row = s.execute(select(Deal, Client).outerjoin(Client, Client.id == Deal.client_id)
                            .where(Deal.id == deal_id)).first() if deal_id else None
            if row is None:
                raise NotFound("deal_not_found", "Deal not found")
            deal, client = row
            tasks = list(s.execute(select(Task).where(Task.deal_id == deal.id, Task.done.is_(False))
                                   .order_by(Task.due_at, Task.id).limit(100)).scalars())
            history = list(s.execute(select(History).where(History.entity == "deal", History.record_id == deal.id)
                                     .order_by(History.id.desc()).limit(max(0, min(history_limit, 100))))
                           .scalars()) if history_limit else []
            return deal, client, tasks, history

    def card_refs(self, p: Principal, deal: Deal, timeout: float = 0.5):
        """The deal's stage and responsible user for display, from the caches (or a short call on a miss);
        None for either when its service did not answer in time: the card opens without that part."""
        try:
            stage = self.stages.context(p, deal.stage_id, timeout=timeout)
        except AppError as exc:
            log.warning("card: stage unknown: %s", exc.message)
            stage = None
        try:
            user = self.users.users(p, {deal.responsible_id}, timeout=timeout).get(deal.responsible_id)
        except AppError as exc:
            log.warning("card: responsible unknown: %s", exc.message)
            user = None
        return stage, user

    def update_deal(self, p: Principal, deal_id: str, changes: dict[str, Any]) -> Deal:
        """Edit a deal: values, stage (its funnel follows), responsible; the stage rules apply."""
        errors = FieldCollector()
        clean: dict[str, Any] = {}
        if "title" in changes:
            clean["title"] = model.check_text(errors, "title", changes["title"])
        if "amount" in changes:
            clean["amount"] = model.parse_amount(errors, "amount", changes["amount"]) or None
        if "client_id" in changes:
            clean["client_id"] = changes["client_id"] or None
        if changes.get("responsible_id") is not None:
            clean["responsible_id"] = changes["responsible_id"]
            self._check_user(p, errors, changes["responsible_id"])
        raw_fields = parse_fields_json(errors, changes.get("fields_json"))
        new_stage = changes.get("stage_id") or ""
        target = self.stages.resolve(p, errors, new_stage, "deal") if new_stage else None  # before the lock

        def save(uow: UnitOfWork, deal: Deal, old_ctx: StageContext) -> None:
            errors.raise_if_any()
            self._writable(deal)
            if clean.get("client_id") and clean["client_id"] != deal.client_id:
                self._linkable_client(uow.session, errors, clean["client_id"])
            ctx = old_ctx if new_stage in ("", deal.stage_id) else target
            custom = model.clean_custom(errors, ctx.fields, raw_fields) if ctx else {}
            errors.raise_if_any()
            self._save(uow, p, DEAL, deal, ctx, old_ctx, clean, custom, source_of(p))

        return self._edit(p, DEAL, deal_id, save)

    def delete_deal(self, p: Principal, deal_id: str) -> Deal:
        """Soft-delete a deal (kept, hidden from lists)."""
        return self._set_deleted(p, DEAL, deal_id, True)

    def restore_deal(self, p: Principal, deal_id: str) -> Deal:
        """Bring a deleted deal back as it was (restore_records right)."""
        return self._set_deleted(p, DEAL, deal_id, False)

    def list_deals(self, p: Principal, *, funnel_id: str = "", stage_id: str = "", responsible_id: str = "",
                   client_id: str = "", q: str = "", deleted: bool = False, sort: str = "", limit: int = 50,
                   cursor: str = "") -> tuple[list[Deal], str]:
        with self.db.session(company_id=p.company_id) as s:
            stmt = self._listing(p, DEAL, deleted, stage_id=stage_id, funnel_id=funnel_id,
                                 responsible_id=responsible_id, client_id=client_id)
            text = (q or "").strip().lower()
            if text:
                clients = select(Client.id).where(Client.company_id == p.company_id, client_match(text))
                stmt = stmt.where(or_(Deal.title_lc.contains(like(text), escape="\\"), Deal.client_id.in_(clients)))
            return keyset_page(s, stmt, Deal, {"created_at": Deal.created_at, "updated_at": Deal.updated_at,
                                               "amount": Deal.amount, "title": Deal.title_lc},
                               sort, cursor, limit)

    def deal_history(self, p: Principal, deal_id: str, limit: int, cursor: str):
        return self._record_history(p, DEAL, deal_id, limit, cursor)

    def board(self, p: Principal, funnel_id: str, per_stage: int = 20) -> list[model.BoardColumn]:
        """Per stage of the funnel (pipeline's, cached): count and sum (kept on write, `adapters.totals`) and
        the newest deals (one query for all stages, `adapters.board`). Stages that left the funnel but still
        hold deals come last. A funnel that is missing or another company's is `funnel_not_found`."""
        per_stage = max(1, min(per_stage or 20, 100))
        stages = {st.stage_id: st for st in self.stages.funnel_stages(p, funnel_id)}
        with self.db.session(company_id=p.company_id) as s:
            stats = {row.stage_id: (int(row.deals), int(row.amount)) for row in s.execute(
                select(StageTotal.stage_id, StageTotal.deals, StageTotal.amount)
                .where(StageTotal.company_id == p.company_id, StageTotal.funnel_id == funnel_id,
                       StageTotal.deals > 0))}
            order = list(dict.fromkeys([*stages, *sorted(stats)]))
            deals = newest_deals(s, p.company_id, [sid for sid in order if sid in stats], per_stage)
        return [model.BoardColumn(sid, stages.get(sid), *stats.get(sid, (0, 0)), deals.get(sid, []))
                for sid in order]
