"""Sign-up, login, token refresh and logout, and the check of a session (F1-F3)."""

from __future__ import annotations

import datetime as _dt
import logging

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.context import Principal
from crm_platform.db import utcnow
from crm_platform.errors import Conflict, FieldCollector, Unauthenticated
from crm_identity.adapters.orm import Company, Group, RefreshSession, Role, User
from crm_identity.domain import model
from crm_identity.service_layer.base import DUMMY_HASH, HASHER, IdentityBase, new_id, password_ok, sha256

log = logging.getLogger(__name__)


class AccountUseCases(IdentityBase):
    # ---- sign-up and login --------------------------------------------------------------
    def sign_up(self, *, company_name: str, first_name: str, last_name: str, email: str, password: str,
                time_zone: str = "", language: str = "") -> tuple[Company, User, dict]:
        """Create a company with default roles and group named in its language (Russian by default), and
        its first admin."""
        errors = FieldCollector()
        company_name = model.check_text(errors, "company_name", company_name, max_len=200)
        first_name = model.check_text(errors, "first_name", first_name)
        last_name = model.check_text(errors, "last_name", last_name)
        email = model.check_email(errors, "email", email)
        password = model.check_password(errors, "password", password)
        time_zone = (time_zone or model.DEFAULT_TIME_ZONE).strip()
        if not model.valid_time_zone(time_zone):
            errors.add("time_zone", "invalid_time_zone")
        language = model.check_language(errors, "language", language)
        errors.raise_if_any()
        password_hash = HASHER.hash(password)
        for _ in range(5):
            try:
                return self._create_company(company_name, first_name, last_name, email, password_hash, time_zone,
                                            language)
            except IntegrityError:  # CRM ID collision: draw again
                continue
        raise RuntimeError("could not allocate a CRM ID")

    def _create_company(self, name, first_name, last_name, email, password_hash, time_zone, language):
        now = utcnow()
        company = Company(id=new_id(), name=name, crm_id=model.new_crm_id(), time_zone=time_zone, created_at=now,
                          language=language)
        admin_name, manager_name, group_name = model.SEEDED_NAMES[language]
        with self.units.write(company.id) as uow:
            s = uow.session
            s.add(company)
            admin_role = Role(id=new_id(), name=admin_name, permissions=dict(model.ADMIN_PERMISSIONS), system=True)
            manager_role = Role(id=new_id(), name=manager_name, permissions=dict(model.MANAGER_PERMISSIONS))
            group = Group(id=new_id(), name=group_name)
            s.add_all([admin_role, manager_role, group])
            s.flush()
            user = User(id=new_id(), first_name=first_name, last_name=last_name, email=email,
                        password_hash=password_hash, role_id=admin_role.id, group_id=group.id, active=True,
                        created_at=now)
            s.add(user)
            s.flush()
            uow.actor_id = user.id  # the new admin acts
            uow.publish(company.id, ev.CompanyCreated(name=name, crm_id=company.crm_id, time_zone=time_zone,
                                                      admin_user_id=user.id, language=language))
            self._publish_user_created(uow, user)
            tokens = self._issue(s, user)
        return company, user, tokens

    def login(self, *, email: str, password: str, crm_id: str = "", caller: str = "") -> dict:
        """Check the credentials; ask for a CRM ID when they match in several companies. Limited per account
        and per caller before any password is hashed (429 `rate_limited`, limits.py)."""
        email = model.normalize_email(email)
        crm_id = model.normalize_crm_id(crm_id)
        self.limiter.login(email, caller or "unknown")
        with self.units.write(None) as uow:
            s = uow.session
            q = select(User, Company).join(Company, Company.id == User.company_id).where(
                User.email == email, User.active.is_(True))
            if crm_id:
                q = q.where(Company.crm_id == crm_id)
            candidates = s.execute(q).all()
            matches = [(u, c) for u, c in candidates if password_ok(u.password_hash, password)]
            if not candidates:
                password_ok(DUMMY_HASH, password)  # same work as for a known e-mail
            if not matches:
                raise Unauthenticated("invalid_credentials", "Wrong e-mail or password")
            if len(matches) > 1:
                raise Conflict("crm_id_required", "Choose the CRM",
                               choices=[{"crm_id": model.format_crm_id(c.crm_id), "company_name": c.name}
                                        for _, c in sorted(matches, key=lambda m: m[1].name)])
            user = matches[0][0]
            s.info["company_id"] = user.company_id
            if HASHER.check_needs_rehash(user.password_hash):
                user.password_hash = HASHER.hash(password)
            return self._issue(s, user)

    def refresh(self, refresh_token: str) -> dict:
        """Rotate a refresh token; a token used twice revokes its whole family.

        The token's row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers take the database in
        turn): two refreshes with one token at once rotate it once, and the later one is seen as the reuse."""
        now = utcnow()
        reused = None
        with self.units.write(None) as uow:
            s = uow.session
            row = s.execute(select(RefreshSession).where(
                RefreshSession.token_hash == sha256(refresh_token or "")).with_for_update()).scalar_one_or_none()
            if row is None or row.expires_at.replace(tzinfo=_dt.timezone.utc) < now:
                raise Unauthenticated("refresh_invalid", "Invalid refresh token")
            if row.revoked_at is not None or row.rotated_at is not None:
                reused = row.family_id if row.revoked_at is None else None
            else:
                s.info["company_id"] = row.company_id
                user = s.get(User, row.user_id)
                if user is None or not user.active:
                    raise Unauthenticated("refresh_invalid", "Invalid refresh token")
                row.rotated_at = now
                return self._issue(s, user, family_id=row.family_id)
        if reused:
            self._revoke_family(reused)
            log.warning("refresh token reuse: session %s revoked", reused)
        raise Unauthenticated("refresh_invalid", "Invalid refresh token")

    def _revoke_family(self, family_id: str) -> None:
        with self.units.write(None) as uow:
            s = uow.session
            s.execute(update(RefreshSession).where(RefreshSession.family_id == family_id,
                                                   RefreshSession.revoked_at.is_(None)).values(revoked_at=utcnow()))

    def logout(self, refresh_token: str) -> None:
        """Revoke the session the refresh token belongs to (unknown tokens are ignored)."""
        with self.db.session() as s:
            family = s.execute(select(RefreshSession.family_id).where(
                RefreshSession.token_hash == sha256(refresh_token or ""))).scalar_one_or_none()
        if family:
            self._revoke_family(family)

    def check_session(self, principal: Principal) -> str:
        """Why the caller's access token no longer works, or "" while it does: `session_ended` when the user
        is deactivated or the session revoked, `rights_changed` when the rights it was signed with are not the
        ones the user's role holds now (a role changed, or its permissions: a refresh issues a token with
        the current ones). The gateway asks this at most once a second per token."""
        if principal.kind != "user":
            return ""
        with self.db.session(company_id=principal.company_id) as s:
            user = s.get(User, principal.user_id)
            if user is None or not user.active or not principal.session_id:
                return "session_ended"
            revoked = s.execute(select(func.count()).select_from(RefreshSession).where(
                RefreshSession.family_id == principal.session_id,
                RefreshSession.revoked_at.is_not(None))).scalar_one()
            if revoked:
                return "session_ended"
            role = s.get(Role, user.role_id)
            current = frozenset(model.granted(role.permissions)) if role is not None else frozenset()
            return "" if current == principal.permissions else "rights_changed"
