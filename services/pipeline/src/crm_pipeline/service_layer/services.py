"""Pipeline use cases: default funnels, funnel edits, stage rules, custom field definitions.

Every change and its event are written in one transaction (the outbox); readers never see a
change whose event could be lost.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.pipeline.events.v1 import pipeline_events_pb2 as ev
from crm_platform.context import Principal
from crm_platform.db import Database, one_or_not_found, utcnow
from crm_platform.errors import (Conflict, FailedPrecondition, FieldCollector, InvalidArgument, NotFound,
                                 PermissionDenied)
from crm_platform.topics import topics_in
from crm_platform.uow import UnitOfWork, Units
from crm_pipeline.adapters.messages import field_pb, funnel_pb
from crm_pipeline.adapters.orm import PLATFORM, CompanySetup, FieldDefinition, Funnel, Stage
from crm_pipeline.domain import model

log = logging.getLogger(__name__)

TOPICS = topics_in(ev)
SYSTEM_ACTOR = "system"


def _new_id() -> str:
    return str(uuid.uuid4())


class PipelineService:
    """The pipeline use cases over one database."""

    def __init__(self, db: Database):
        self.db = db
        self.units = Units(db, PLATFORM)

    # ---- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _require(principal: Principal) -> None:
        if not principal.can("manage_funnels"):
            raise PermissionDenied("forbidden", "Your role does not allow this", permission="manage_funnels")

    @staticmethod
    def _entity(errors: FieldCollector | None, entity: str, allow_empty: bool = True) -> str:
        if entity == "" and allow_empty:
            return ""
        if entity not in model.ENTITIES:
            if errors is None:
                raise InvalidArgument("validation_failed", "Validation failed",
                                      fields=[{"field": "entity", "code": "invalid_choice", "params": {}}])
            errors.add("entity", "invalid_choice")
        return entity

    @staticmethod
    def _live_stages(s: Session, funnel_ids: list[str], lock: bool = False) -> list[Stage]:
        """The funnels' stages not removed, in board order; `lock`: FOR UPDATE, taken in id order (the order
        every writer that locks several stages takes them in, so two cannot deadlock)."""
        if not funnel_ids:
            return []
        q = select(Stage).where(Stage.funnel_id.in_(funnel_ids), Stage.removed_at.is_(None))
        q = q.order_by(Stage.id).with_for_update() if lock else q.order_by(Stage.group_key, Stage.position, Stage.id)
        return list(s.execute(q).scalars())

    @staticmethod
    def _funnel(s: Session, funnel_id: str, lock: bool = False) -> Funnel:
        return one_or_not_found(s, select(Funnel).where(Funnel.id == funnel_id), "funnel_not_found",
                                "Funnel not found", lock)

    @staticmethod
    def _stage(s: Session, stage_id: str, lock: bool = False) -> Stage:
        return one_or_not_found(s, select(Stage).where(Stage.id == stage_id, Stage.removed_at.is_(None)),
                                "stage_not_found", "Stage not found", lock)

    # ---- default funnels (F8) ---------------------------------------------------------------
    def seed_company(self, s: Session, company_id: str, actor: str = SYSTEM_ACTOR, language: str = "") -> bool:
        """Create the company's default deal and client funnels once, named in `language`
        (`model.seed_language`); False when they exist already."""
        if s.get(CompanySetup, company_id) is not None:
            return False
        now = utcnow()
        s.add(CompanySetup(company_id=company_id, seeded_at=now))
        s.flush()  # a concurrent seeder fails here on the primary key, before anything else is written
        for entity, (name, groups) in model.default_funnels(language).items():
            funnel = Funnel(id=_new_id(), company_id=company_id, entity=entity, name=name, version=1,
                            created_at=now, updated_at=now)
            s.add(funnel)
            stages = [Stage(id=_new_id(), company_id=company_id, funnel_id=funnel.id, group_key=key, name=sname,
                            color=color, position=pos, rules=model.empty_rules(), created_at=now)
                      for key in model.GROUPS for pos, (sname, color) in enumerate(groups[key])]
            s.add_all(stages)
            s.flush()
            with self.units.within(s, company_id, actor) as uow:
                uow.publish(funnel.id, ev.FunnelCreated(funnel=funnel_pb(funnel, stages)))
        log.info("default funnels created (%s)", model.seed_language(language), extra={"company_id": company_id})
        return True

    def ensure_seeded(self, company_id: str, language: str = "") -> None:
        """Seed the defaults now if the CompanyCreated event has not been handled yet, in the language the
        caller's token names (the company's: identity signs it in)."""
        with self.db.session(company_id=company_id) as s:
            if s.get(CompanySetup, company_id) is not None:
                return
        try:
            with self.units.write(company_id) as uow:
                self.seed_company(uow.session, company_id, language=language)
        except IntegrityError:  # the consumer (or another request) seeded at the same moment
            pass

    # ---- funnels ----------------------------------------------------------------------------
    def list_funnels(self, principal: Principal, entity: str = "") -> list[tuple[Funnel, list[Stage]]]:
        """The company's funnels with their live stages."""
        entity = self._entity(None, entity)
        self.ensure_seeded(principal.company_id, principal.language)
        with self.db.session(company_id=principal.company_id) as s:
            q = select(Funnel).order_by(Funnel.entity.desc(), Funnel.created_at, Funnel.id)
            if entity:
                q = q.where(Funnel.entity == entity)
            funnels = list(s.execute(q).scalars())
            stages = self._live_stages(s, [f.id for f in funnels])
        return [(f, [st for st in stages if st.funnel_id == f.id]) for f in funnels]

    def get_funnel(self, principal: Principal, funnel_id: str) -> tuple[Funnel, list[Stage]]:
        with self.db.session(company_id=principal.company_id) as s:
            funnel = self._funnel(s, funnel_id)
            return funnel, self._live_stages(s, [funnel.id])

    def update_funnel(self, principal: Principal, funnel_id: str, *, version: int,
                      groups: list[tuple[str, list[model.StageEdit]]], removed: list[tuple[str, str]],
                      name: str | None = None) -> tuple[Funnel, list[Stage]]:
        """Save an edited funnel as a whole (F9): add, rename, recolor, reorder and remove stages."""
        self._require(principal)
        clean_name = None
        if name is not None:
            errors = FieldCollector()
            clean_name = model.check_name(errors, "name", name, model.FUNNEL_NAME_MAX)
            errors.raise_if_any()
        now = utcnow()
        with self.units.of(principal) as uow:
            s = uow.session
            funnel = self._funnel(s, funnel_id, lock=True)
            if funnel.version != version:
                raise Conflict("stale_version", "The funnel was changed by someone else",
                               current_version=funnel.version)
            current = self._live_stages(s, [funnel.id])
            plan = model.plan_funnel_edit(
                [model.StageState(st.id, st.group_key, st.position, st.name, st.color) for st in current],
                groups, removed)
            by_id = {st.id: st for st in current}
            live: list[Stage] = []
            for p in plan.stages:
                if p.id:
                    st = by_id[p.id]
                    st.group_key, st.position, st.name, st.color = p.group_key, p.position, p.name, p.color
                else:
                    st = Stage(id=_new_id(), funnel_id=funnel.id, group_key=p.group_key, name=p.name, color=p.color,
                               position=p.position, rules=model.empty_rules(), created_at=now)
                    s.add(st)
                live.append(st)
            for stage_id, target in plan.removed.items():
                st = by_id[stage_id]
                st.removed_at, st.moved_to_stage_id = now, target
                # records still pointing at an earlier removed stage follow the chain to the new target
                for older in s.execute(select(Stage).where(Stage.moved_to_stage_id == stage_id)).scalars():
                    older.moved_to_stage_id = target
            if clean_name is not None:
                funnel.name = clean_name
            funnel.version += 1
            funnel.updated_at = now
            s.flush()
            uow.publish(funnel.id, ev.FunnelChanged(
                funnel_id=funnel.id, entity=funnel.entity, version=funnel.version, funnel=funnel_pb(funnel, live),
                removed_stages=[ev.RemovedStage(stage_id=k, target_stage_id=v) for k, v in plan.removed.items()]))
            return funnel, live

    # ---- stages and rules (F10-F12) ---------------------------------------------------------
    def stage_context(self, principal: Principal, stage_id: str) -> tuple[Stage, Funnel, list[FieldDefinition]]:
        """A stage with its funnel and every field of the funnel's entity: what records checks a save against."""
        with self.db.session(company_id=principal.company_id) as s:
            stage = self._stage(s, stage_id)
            funnel = self._funnel(s, stage.funnel_id)
            fields = list(s.execute(select(FieldDefinition).where(FieldDefinition.entity == funnel.entity)
                                    .order_by(FieldDefinition.position, FieldDefinition.id)).scalars())
            return stage, funnel, fields

    def default_stage(self, principal: Principal, entity: str) -> Stage:
        """The first stage of the unprocessed group of the company's first funnel of `entity`."""
        entity = self._entity(None, entity, allow_empty=False)
        self.ensure_seeded(principal.company_id, principal.language)
        with self.db.session(company_id=principal.company_id) as s:
            stage = s.execute(
                select(Stage).join(Funnel, Funnel.id == Stage.funnel_id)
                .where(Funnel.entity == entity, Stage.group_key == model.GROUPS[0], Stage.removed_at.is_(None))
                .order_by(Funnel.created_at, Funnel.id, Stage.position, Stage.id).limit(1)).scalar_one_or_none()
            if stage is None:
                raise NotFound("funnel_not_found", "Funnel not found")
            return stage

    @staticmethod
    def _fields_changed(uow: UnitOfWork, entity: str) -> None:
        """Tell readers that cache fields or rules (records) that this entity's changed."""
        uow.publish(entity, ev.FieldsChanged(entity=entity))

    def get_rules(self, principal: Principal, stage_id: str) -> dict:
        with self.db.session(company_id=principal.company_id) as s:
            stage = self._stage(s, stage_id)
            return {**model.empty_rules(), **(stage.rules or {})}

    def update_rules(self, principal: Principal, stage_id: str, rules: dict[str, list[str]]) -> dict:
        """Replace the field rules of a stage.

        The stage's row is locked (FOR UPDATE on PostgreSQL; SQLite writers take the database in turn) before
        the fields are read, as `delete_field` locks it: a field deleted meanwhile is either refused here or
        dropped from the rules saved here, never left in them."""
        self._require(principal)
        with self.units.of(principal) as uow:
            s = uow.session
            stage = self._stage(s, stage_id, lock=True)
            funnel = self._funnel(s, stage.funnel_id)
            types = dict(s.execute(select(FieldDefinition.key, FieldDefinition.type)
                                   .where(FieldDefinition.entity == funnel.entity)).all())
            clean = model.check_rules(funnel.entity, rules, types)
            stage.rules = clean
            self._fields_changed(uow, funnel.entity)
            return clean

    @staticmethod
    def palette() -> list[str]:
        return list(model.PALETTE)

    # ---- custom fields ----------------------------------------------------------------------
    def list_fields(self, principal: Principal, entity: str = "") -> list[FieldDefinition]:
        entity = self._entity(None, entity)
        with self.db.session(company_id=principal.company_id) as s:
            q = select(FieldDefinition).order_by(FieldDefinition.entity.desc(), FieldDefinition.position,
                                                 FieldDefinition.id)
            if entity:
                q = q.where(FieldDefinition.entity == entity)
            return list(s.execute(q).scalars())

    @staticmethod
    def _field(s: Session, field_id: str, lock: bool = False) -> FieldDefinition:
        return one_or_not_found(s, select(FieldDefinition).where(FieldDefinition.id == field_id),
                                "field_not_found", "Field not found", lock)

    def create_field(self, principal: Principal, *, entity: str, key: str, name: str, field_type: str,
                     options: list[str]) -> FieldDefinition:
        """Define a custom field of deals or clients."""
        self._require(principal)
        key, name, options = model.check_field_definition(entity, key, name, field_type, options)
        with self.units.of(principal) as uow:
            s = uow.session
            count, last = s.execute(select(func.count(), func.max(FieldDefinition.position))
                                    .where(FieldDefinition.entity == entity)).one()
            if count >= model.MAX_FIELDS_PER_ENTITY:
                raise FailedPrecondition("too_many_fields", "Too many fields", max=model.MAX_FIELDS_PER_ENTITY)
            if s.execute(select(FieldDefinition.id).where(FieldDefinition.entity == entity,
                                                          FieldDefinition.key == key)).first() is not None:
                raise Conflict("field_key_taken", "A field with this key exists", field="key")
            f = FieldDefinition(id=_new_id(), entity=entity, key=key, name=name, type=field_type, options=options,
                                position=(last + 1) if last is not None else 0, created_at=utcnow())
            s.add(f)
            try:
                s.flush()
            except IntegrityError as exc:
                raise Conflict("field_key_taken", "A field with this key exists", field="key") from exc
            uow.publish(f.id, ev.FieldCreated(field=field_pb(f)))
            self._fields_changed(uow, entity)
            return f

    def update_field(self, principal: Principal, field_id: str, *, name: str | None = None,
                     options: list[str] | None = None) -> FieldDefinition:
        """Rename a field or change its choices (key and type never change: records hold values by key).

        The field's row is locked (FOR UPDATE on PostgreSQL; SQLite writers take the database in turn): edits
        of one field run in turn, each from the last one's result, so the FieldUpdated event and the answer
        carry the field as stored."""
        self._require(principal)
        with self.units.of(principal) as uow:
            s = uow.session
            f = self._field(s, field_id, lock=True)
            errors = FieldCollector()
            new_name = model.check_name(errors, "name", name, model.FIELD_NAME_MAX) if name is not None else f.name
            new_options = model.check_options(errors, f.type, options) if options is not None else f.options
            errors.raise_if_any()
            if new_name != f.name or list(new_options) != list(f.options):
                f.name, f.options = new_name, list(new_options)
                s.flush()
                uow.publish(f.id, ev.FieldUpdated(field=field_pb(f)))
                self._fields_changed(uow, f.entity)
            return f

    def delete_field(self, principal: Principal, field_id: str) -> None:
        """Delete a field and drop its key from every stage rule of its entity.

        The field's row, then the entity's live stages (in id order) are locked (FOR UPDATE on PostgreSQL;
        SQLite writers take the database in turn): each stage's rules are rewritten from what the last rule
        edit of it left (`update_rules` locks the stage too), not from an older copy."""
        self._require(principal)
        with self.units.of(principal) as uow:
            s = uow.session
            f = self._field(s, field_id, lock=True)
            funnels = {fn.id: fn for fn in s.execute(select(Funnel).where(Funnel.entity == f.entity)).scalars()}
            for stage in self._live_stages(s, list(funnels), lock=True):
                rules = {**model.empty_rules(), **(stage.rules or {})}
                if not any(f.key in keys for keys in rules.values()):
                    continue
                stage.rules = {k: [x for x in keys if x != f.key] for k, keys in rules.items()}
            uow.publish(f.id, ev.FieldDeleted(field=field_pb(f)))
            self._fields_changed(uow, f.entity)
            s.delete(f)
