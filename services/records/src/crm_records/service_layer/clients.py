"""Client use cases: create, read, lists, history, edit (a new responsible takes the client's deals and open
tasks along, `responsibility`), delete and restore; the countries a phone number may be from."""

from __future__ import annotations

from typing import Any


from crm_platform.context import Principal
from crm_platform.db import utcnow
from crm_platform.errors import FieldCollector, PermissionDenied
from crm_platform.pagination import keyset_page
from crm_platform.uow import UnitOfWork
from crm_records.adapters.orm import Client
from crm_records.domain import model
from crm_records.domain.model import StageContext
from crm_records.service_layer.deals import client_match
from crm_records.service_layer.kinds import CLIENT, SOURCES, name_lc
from crm_records.service_layer.responsibility import ResponsibilityUseCases
from crm_records.service_layer.writes import diff, fingerprint, new_id, parse_fields_json, source_of


class ClientUseCases(ResponsibilityUseCases):
    @staticmethod
    def list_countries() -> tuple[model.Country, ...]:
        return model.countries()

    def create_client(self, p: Principal, *, name: str, phone: tuple[str, str] | None = None, email: str = "",
                      responsible_id: str = "", stage_id: str = "", fields_json: str = "",
                      idempotency_key: str = "") -> Client:
        """Create a client in a stage (default: the client funnel's first unprocessed stage)."""
        errors = FieldCollector()
        name = model.check_text(errors, "name", name)
        e164, country = ("", "")
        if phone and phone[1]:
            e164, country = model.normalize_phone(errors, "phone", phone[0], phone[1])
        email = model.check_email(errors, "email", email)
        raw_fields = parse_fields_json(errors, fields_json)
        ctx = self.stages.resolve(p, errors, stage_id, "client")
        custom = model.clean_custom(errors, ctx.fields, raw_fields) if ctx else {}
        responsible_id = responsible_id or p.user_id
        self._check_user(p, errors, responsible_id)
        errors.raise_if_any()
        request_hash = fingerprint(name=name, phone=e164, email=email, stage_id=stage_id,
                                   responsible_id=responsible_id, fields=raw_fields)

        def work(uow: UnitOfWork) -> str:
            s = uow.session
            now = utcnow()
            after = {"name": name, "phone": e164 or None, "email": email, "responsible_id": responsible_id,
                     **{k: v for k, v in custom.items() if v is not None}}
            filled = model.enforce_rules(ctx=ctx, previous=None, before={}, after=after, written=set(after),
                                         entering=True, now=now,
                                         next_number=self._numbers(s, p.company_id, "client"))
            values = {k: v for k, v in {**custom, **filled}.items() if v is not None}
            client = Client(id=new_id(), company_id=p.company_id, name=name, name_lc=name_lc(name, email),
                            phone=e164 or None, phone_country=country or None, email=email,
                            funnel_id=ctx.funnel_id, stage_id=ctx.stage_id, responsible_id=responsible_id,
                            fields=values, created_at=now, updated_at=now, created_by=p.user_id, deleted=False)
            s.add(client)
            s.flush()
            full = {**after, **filled, "stage_id": ctx.stage_id}
            self._history(s, p, "client", client.id, source_of(p), "created",
                          diff({}, full, list(full), CLIENT.builtins + ("stage_id",)), now)
            uow.publish(client.id, CLIENT.event(CLIENT.created, CLIENT.snapshot(client, ctx.group_key),
                                                source=SOURCES[source_of(p)]))
            return client.id

        return self.get_client(p, self._create_once(p, "CreateClient", idempotency_key, request_hash, work))

    def get_client(self, p: Principal, client_id: str) -> Client:
        return self._get(p, CLIENT, client_id)

    def update_client(self, p: Principal, client_id: str, changes: dict[str, Any]) -> Client:
        """Edit a client; a new responsible user also takes its deals and open tasks (one transaction)."""
        errors = FieldCollector()
        clean: dict[str, Any] = {}
        country = None
        if "name" in changes:
            clean["name"] = model.check_text(errors, "name", changes["name"])
        if "email" in changes:
            clean["email"] = model.check_email(errors, "email", changes["email"])
        if "phone" in changes:
            c, number = changes["phone"]
            if number:
                clean["phone"], country = model.normalize_phone(errors, "phone", c, number)
            else:
                clean["phone"] = None
        if changes.get("responsible_id") is not None:
            clean["responsible_id"] = changes["responsible_id"]
            self._check_user(p, errors, changes["responsible_id"])
        raw_fields = parse_fields_json(errors, changes.get("fields_json"))
        new_stage = changes.get("stage_id") or ""
        target = self.stages.resolve(p, errors, new_stage, "client") if new_stage else None  # before the lock

        def save(uow: UnitOfWork, client: Client, old_ctx: StageContext) -> None:
            errors.raise_if_any()
            if "phone" in clean and clean["phone"] != client.phone and not p.can("edit_phone"):
                raise PermissionDenied("forbidden", "Your role may not change phone numbers",
                                       permission="edit_phone")
            self._writable(client)
            ctx = old_ctx if new_stage in ("", client.stage_id) else target
            custom = model.clean_custom(errors, ctx.fields, raw_fields) if ctx else {}
            errors.raise_if_any()
            prev_resp = client.responsible_id
            if self._save(uow, p, CLIENT, client, ctx, old_ctx, clean, custom, source_of(p)) and country:
                client.phone_country = country
            if client.responsible_id != prev_resp:
                self._cascade_client_responsible(uow, p, [client.id], client.responsible_id, source_of(p))

        return self._edit(p, CLIENT, client_id, save)

    def delete_client(self, p: Principal, client_id: str) -> Client:
        return self._set_deleted(p, CLIENT, client_id, True)

    def restore_client(self, p: Principal, client_id: str) -> Client:
        return self._set_deleted(p, CLIENT, client_id, False)

    def list_clients(self, p: Principal, *, funnel_id: str = "", stage_id: str = "", responsible_id: str = "",
                     q: str = "", deleted: bool = False, sort: str = "", limit: int = 50,
                     cursor: str = "") -> tuple[list[Client], str]:
        with self.db.session(company_id=p.company_id) as s:
            stmt = self._listing(p, CLIENT, deleted, stage_id=stage_id, funnel_id=funnel_id,
                                 responsible_id=responsible_id)
            text = (q or "").strip().lower()
            if text:
                stmt = stmt.where(client_match(text))
            return keyset_page(s, stmt, Client, {"created_at": Client.created_at, "updated_at": Client.updated_at,
                                                 "name": Client.name_lc}, sort, cursor, limit)

    def client_history(self, p: Principal, client_id: str, limit: int, cursor: str):
        return self._record_history(p, CLIENT, client_id, limit, cursor)
