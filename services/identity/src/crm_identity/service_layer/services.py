"""Identity use cases: sign-up, login, tokens, password reset, users, groups and roles."""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import secrets
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.auth import ACCESS, TokenSigner
from crm_platform.context import Principal
from crm_platform.db import Database, one_or_not_found, utcnow
from crm_platform.errors import (Conflict, FailedPrecondition, FieldCollector, InvalidArgument, NotFound,
                                 PermissionDenied, Unauthenticated)
from crm_platform.outbox import add_event
from crm_identity.adapters.orm import (OUTBOX, Company, Group, OutgoingMail, RefreshSession, ResetRequest,
                                       ResetToken, Role, User)
from crm_identity.domain import model

log = logging.getLogger(__name__)

USER_TOPIC = "crm.identity.user.v1"
COMPANY_TOPIC = "crm.identity.company.v1"
ROLE_TOPIC = "crm.identity.role.v1"
TOPICS = (USER_TOPIC, COMPANY_TOPIC, ROLE_TOPIC)

# OWASP's first recommended argon2id configuration: m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = HASHER.hash("timing-equaliser")


def sha256(value: str) -> str:
    """Hash a token for storage."""
    return hashlib.sha256(value.encode()).hexdigest()


def _new_id() -> str:
    return str(uuid.uuid4())


class IdentityService:
    """The identity use cases over one database."""

    def __init__(self, db: Database, signer: TokenSigner, *, access_ttl: int = 900, refresh_ttl_days: int = 30,
                 reset_ttl: int = 3600, public_url: str = "http://127.0.0.1:8080"):
        self.db = db
        self.signer = signer
        self.access_ttl = access_ttl
        self.refresh_ttl = _dt.timedelta(days=refresh_ttl_days)
        self.reset_ttl = _dt.timedelta(seconds=reset_ttl)
        self.public_url = public_url.rstrip("/")

    # ---- events -------------------------------------------------------------------------
    def _publish(self, s: Session, topic: str, aggregate: str, aggregate_id: str, message, company_id: str,
                 actor: str) -> None:
        add_event(s, OUTBOX, topic=topic, aggregate_type=aggregate, aggregate_id=aggregate_id, message=message,
                  company_id=company_id, actor_id=actor)

    # ---- tokens -------------------------------------------------------------------------
    def _issue(self, s: Session, user: User, family_id: str | None = None) -> dict:
        role = s.get(Role, user.role_id)
        family_id = family_id or _new_id()
        refresh = secrets.token_urlsafe(32)
        now = utcnow()
        s.add(RefreshSession(id=_new_id(), company_id=user.company_id, user_id=user.id, family_id=family_id,
                             token_hash=sha256(refresh), created_at=now, expires_at=now + self.refresh_ttl))
        access = self.signer.sign(typ=ACCESS, company_id=user.company_id, user_id=user.id,
                                  ttl=_dt.timedelta(seconds=self.access_ttl),
                                  permissions=model.granted(role.permissions), session_id=family_id)
        return {"access_token": access, "refresh_token": refresh, "expires_in": self.access_ttl}

    # ---- sign-up and login --------------------------------------------------------------
    def sign_up(self, *, company_name: str, first_name: str, last_name: str, email: str, password: str,
                time_zone: str = "") -> tuple[Company, User, dict]:
        """Create a company with default roles and group, and its first admin."""
        errors = FieldCollector()
        company_name = model.check_text(errors, "company_name", company_name, max_len=200)
        first_name = model.check_text(errors, "first_name", first_name)
        last_name = model.check_text(errors, "last_name", last_name)
        email = model.check_email(errors, "email", email)
        password = model.check_password(errors, "password", password)
        time_zone = (time_zone or model.DEFAULT_TIME_ZONE).strip()
        if not model.valid_time_zone(time_zone):
            errors.add("time_zone", "invalid_time_zone")
        errors.raise_if_any()
        password_hash = HASHER.hash(password)
        for _ in range(5):
            try:
                return self._create_company(company_name, first_name, last_name, email, password_hash, time_zone)
            except IntegrityError:  # CRM ID collision: draw again
                continue
        raise RuntimeError("could not allocate a CRM ID")

    def _create_company(self, name, first_name, last_name, email, password_hash, time_zone):
        now = utcnow()
        company = Company(id=_new_id(), name=name, crm_id=model.new_crm_id(), time_zone=time_zone, created_at=now)
        with self.db.session(company_id=company.id, write=True) as s:
            s.add(company)
            admin_role = Role(id=_new_id(), name="Administrator", permissions=dict(model.ADMIN_PERMISSIONS),
                              system=True)
            manager_role = Role(id=_new_id(), name="Manager", permissions=dict(model.MANAGER_PERMISSIONS))
            group = Group(id=_new_id(), name="Main")
            s.add_all([admin_role, manager_role, group])
            s.flush()
            user = User(id=_new_id(), first_name=first_name, last_name=last_name, email=email,
                        password_hash=password_hash, role_id=admin_role.id, group_id=group.id, active=True,
                        created_at=now)
            s.add(user)
            s.flush()
            self._publish(s, COMPANY_TOPIC, "company", company.id, ev.CompanyCreated(
                name=name, crm_id=company.crm_id, time_zone=time_zone, admin_user_id=user.id), company.id, user.id)
            self._publish_user_created(s, user, user.id)
            tokens = self._issue(s, user)
        return company, user, tokens

    def _publish_user_created(self, s: Session, user: User, actor: str) -> None:
        self._publish(s, USER_TOPIC, "user", user.id, ev.UserCreated(
            user_id=user.id, email=user.email, role_id=user.role_id, group_id=user.group_id,
            first_name=user.first_name, last_name=user.last_name), user.company_id, actor)

    def login(self, *, email: str, password: str, crm_id: str = "") -> dict:
        """Check the credentials; ask for a CRM ID when they match in several companies."""
        email = model.normalize_email(email)
        crm_id = model.normalize_crm_id(crm_id)
        with self.db.session(write=True) as s:
            q = select(User, Company).join(Company, Company.id == User.company_id).where(
                User.email == email, User.active.is_(True))
            if crm_id:
                q = q.where(Company.crm_id == crm_id)
            candidates = s.execute(q).all()
            matches = [(u, c) for u, c in candidates if self._password_ok(u.password_hash, password)]
            if not candidates:
                self._password_ok(_DUMMY_HASH, password)  # same work as for a known e-mail
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

    @staticmethod
    def _password_ok(password_hash: str, password: str) -> bool:
        try:
            return HASHER.verify(password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return False

    def refresh(self, refresh_token: str) -> dict:
        """Rotate a refresh token; a token used twice revokes its whole family.

        The token's row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers take the database in
        turn): two refreshes with one token at once rotate it once, and the later one is seen as the reuse."""
        now = utcnow()
        reused = None
        with self.db.session(write=True) as s:
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
        with self.db.session(write=True) as s:
            s.execute(update(RefreshSession).where(RefreshSession.family_id == family_id,
                                                   RefreshSession.revoked_at.is_(None)).values(revoked_at=utcnow()))

    def logout(self, refresh_token: str) -> None:
        """Revoke the session the refresh token belongs to (unknown tokens are ignored)."""
        with self.db.session() as s:
            family = s.execute(select(RefreshSession.family_id).where(
                RefreshSession.token_hash == sha256(refresh_token or ""))).scalar_one_or_none()
        if family:
            self._revoke_family(family)

    def check_session(self, principal: Principal) -> bool:
        """Tell whether the caller's user is active and the session not revoked."""
        if principal.kind != "user":
            return True
        with self.db.session(company_id=principal.company_id) as s:
            user = s.get(User, principal.user_id)
            if user is None or not user.active:
                return False
            if not principal.session_id:
                return False
            revoked = s.execute(select(func.count()).select_from(RefreshSession).where(
                RefreshSession.family_id == principal.session_id,
                RefreshSession.revoked_at.is_not(None))).scalar_one()
            return revoked == 0

    # ---- password reset -----------------------------------------------------------------
    def forgot_password(self, *, email: str, crm_id: str = "", language: str = "ru") -> None:
        """Queue the request; the mail worker decides whether anything is sent (constant-time answer)."""
        with self.db.session(write=True) as s:
            s.add(ResetRequest(email=model.normalize_email(email)[:320], crm_id=model.normalize_crm_id(crm_id)[:16],
                               language="en" if (language or "").startswith("en") else "ru", created_at=utcnow()))

    def process_reset_requests(self, limit: int = 50) -> int:
        """Turn queued requests into tokens and e-mails (one per matching account)."""
        with self.db.session(write=True) as s:
            requests = s.execute(select(ResetRequest).where(ResetRequest.processed_at.is_(None))
                                 .order_by(ResetRequest.id).limit(limit)).scalars().all()
            for req in requests:
                q = select(User, Company).join(Company, Company.id == User.company_id).where(
                    User.email == req.email, User.active.is_(True))
                if req.crm_id:
                    q = q.where(Company.crm_id == req.crm_id)
                for user, company in s.execute(q).all():
                    token = secrets.token_urlsafe(32)
                    now = utcnow()
                    s.add(ResetToken(id=_new_id(), company_id=user.company_id, user_id=user.id,
                                     token_hash=sha256(token), created_at=now, expires_at=now + self.reset_ttl))
                    subject, body = reset_mail(req.language, user.first_name, company, f"{self.public_url}/reset"
                                               f"#token={token}", int(self.reset_ttl.total_seconds() // 60))
                    s.add(OutgoingMail(recipient=user.email, subject=subject, body=body, created_at=now))
                req.processed_at = utcnow()
            return len(requests)

    def reset_password(self, *, token: str, password: str) -> None:
        """Set a new password with a valid token; burn it and end every session of the user.

        The user's row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers take the database in
        turn) before the token is checked: resets of one user run one after the other, and each sees the
        tokens the previous one burned, so a token sets a password once."""
        errors = FieldCollector()
        password = model.check_password(errors, "password", password)
        errors.raise_if_any()
        token_hash = sha256(token or "")

        def usable(row) -> bool:
            return row is not None and row.used_at is None and \
                row.expires_at.replace(tzinfo=_dt.timezone.utc) >= utcnow()

        with self.db.session() as s:  # a wrong link fails before the password is hashed
            row = s.execute(select(ResetToken.user_id, ResetToken.company_id, ResetToken.used_at,
                                   ResetToken.expires_at).where(ResetToken.token_hash == token_hash)).first()
        if not usable(row):
            raise InvalidArgument("reset_token_invalid", "The reset link is invalid or expired")
        password_hash = HASHER.hash(password)
        now = utcnow()
        with self.db.session(company_id=row.company_id, write=True) as s:
            user = s.execute(select(User).where(User.id == row.user_id).with_for_update()).scalar_one_or_none()
            if user is None or not user.active or not usable(s.execute(select(ResetToken).where(
                    ResetToken.token_hash == token_hash)).scalar_one_or_none()):
                raise InvalidArgument("reset_token_invalid", "The reset link is invalid or expired")
            user.password_hash = password_hash
            s.execute(update(ResetToken).where(ResetToken.user_id == user.id, ResetToken.used_at.is_(None))
                      .values(used_at=now))
            s.execute(update(RefreshSession).where(RefreshSession.user_id == user.id,
                                                   RefreshSession.revoked_at.is_(None)).values(revoked_at=now))

    # ---- directory ----------------------------------------------------------------------
    @staticmethod
    def _require(principal: Principal, permission: str) -> None:
        if not principal.can(permission):
            raise PermissionDenied("forbidden", "Your role does not allow this", permission=permission)

    def me(self, principal: Principal) -> tuple[User, Role, Company]:
        """Return the caller with role and company."""
        with self.db.session(company_id=principal.company_id) as s:
            user = s.get(User, principal.user_id)
            if user is None:
                raise NotFound("not_found", "User not found")
            return user, s.get(Role, user.role_id), s.get(Company, principal.company_id)

    def list_users(self, principal: Principal, group_id: str = "", include_inactive: bool = False) -> list[User]:
        with self.db.session(company_id=principal.company_id) as s:
            q = select(User).order_by(User.first_name, User.last_name, User.id)
            if group_id:
                q = q.where(User.group_id == group_id)
            if not include_inactive:
                q = q.where(User.active.is_(True))
            return list(s.execute(q).scalars())

    def get_user(self, principal: Principal, user_id: str) -> User:
        with self.db.session(company_id=principal.company_id) as s:
            return self._user(s, user_id)

    def batch_get_users(self, principal: Principal, ids: list[str]) -> list[User]:
        with self.db.session(company_id=principal.company_id) as s:
            return list(s.execute(select(User).where(User.id.in_(ids[:1000]))).scalars())

    @staticmethod
    def _user(s: Session, user_id: str, lock: bool = False) -> User:
        """The user (404 when the company has none by this id); `lock`: FOR UPDATE."""
        return one_or_not_found(s, select(User).where(User.id == user_id), "user_not_found", "User not found", lock)

    @staticmethod
    def _check_refs(s: Session, errors: FieldCollector, role_id: str | None, group_id: str | None) -> None:
        """Check that the role and group exist, and keep them (FOR KEY SHARE on PostgreSQL) until the end of the
        transaction: delete_role/delete_group lock the row FOR UPDATE first, so a delete and a user joining the
        role or group run one after the other and each sees the other's outcome (no foreign-key error)."""
        for field, cls, ref in (("role_id", Role, role_id), ("group_id", Group, group_id)):
            if ref is not None and s.execute(select(cls.id).where(cls.id == ref).with_for_update(
                    read=True, key_share=True)).first() is None:
                errors.add(field, "unknown_reference")

    def create_user(self, principal: Principal, *, first_name: str, last_name: str, email: str, password: str,
                    role_id: str, group_id: str) -> User:
        """Add a user to the caller's company (admin); publishes UserCreated."""
        self._require(principal, "manage_users")
        errors = FieldCollector()
        first_name = model.check_text(errors, "first_name", first_name)
        last_name = model.check_text(errors, "last_name", last_name)
        email = model.check_email(errors, "email", email)
        password = model.check_password(errors, "password", password)
        if not role_id:
            errors.add("role_id", "required")
        if not group_id:
            errors.add("group_id", "required")
        with self.db.session(company_id=principal.company_id, write=True) as s:
            self._check_refs(s, errors, role_id or None, group_id or None)
            errors.raise_if_any()
            if s.execute(select(User.id).where(User.email == email)).first() is not None:
                raise Conflict("email_taken", "User with this email already exists", field="email")
            user = User(id=_new_id(), first_name=first_name, last_name=last_name, email=email,
                        password_hash=HASHER.hash(password), role_id=role_id, group_id=group_id, active=True,
                        created_at=utcnow())
            s.add(user)
            try:
                s.flush()
            except IntegrityError as exc:
                raise Conflict("email_taken", "User with this email already exists", field="email") from exc
            self._publish_user_created(s, user, principal.user_id)
            return user

    def update_user(self, principal: Principal, user_id: str, changes: dict) -> User:
        """Edit a user (admin, or users editing their own names and password)."""
        own_profile = user_id == principal.user_id and not ({"role_id", "group_id", "email"} & set(changes))
        if not own_profile:
            self._require(principal, "manage_users")
        errors = FieldCollector()
        clean: dict = {}
        for field in ("first_name", "last_name"):
            if field in changes:
                clean[field] = model.check_text(errors, field, changes[field])
        if "email" in changes:
            clean["email"] = model.check_email(errors, "email", changes["email"])
        if "password" in changes:
            clean["password_hash"] = HASHER.hash(model.check_password(errors, "password", changes["password"]))
        with self.db.session(company_id=principal.company_id, write=True) as s:
            user = self._user(s, user_id, lock=True)
            self._check_refs(s, errors, changes.get("role_id"), changes.get("group_id"))
            errors.raise_if_any()
            if "role_id" in changes:
                clean["role_id"] = changes["role_id"]
                if user.role_id != changes["role_id"]:
                    self._ensure_admin_remains(s, user, new_role_id=changes["role_id"])
            if "group_id" in changes:
                clean["group_id"] = changes["group_id"]
            if "email" in clean and clean["email"] != user.email and s.execute(
                    select(User.id).where(User.email == clean["email"])).first() is not None:
                raise Conflict("email_taken", "User with this email already exists", field="email")
            changed = [k for k, v in clean.items() if getattr(user, k) != v]
            for k, v in clean.items():
                setattr(user, k, v)
            if "email" in changed:
                try:  # another request gave a user this e-mail since the check above
                    s.flush()
                except IntegrityError as exc:
                    raise Conflict("email_taken", "User with this email already exists", field="email") from exc
            if "password_hash" in changed:
                s.execute(update(RefreshSession).where(RefreshSession.user_id == user.id,
                                                       RefreshSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
            if changed:
                self._publish(s, USER_TOPIC, "user", user.id, ev.UserUpdated(
                    user_id=user.id, changed_fields=[c.replace("_hash", "") for c in changed]),
                    principal.company_id, principal.user_id)
            return user

    @staticmethod
    def _lock_company(s: Session, company_id: str) -> None:
        """Lock the company's row (FOR UPDATE on PostgreSQL; SQLite writers take the database in turn).

        Every change that may take away an administrator (deactivating or demoting a user, taking `admin`
        from a role) takes this lock before it reads any role or user, so those checks run one after the
        other and each sees what the previous one committed."""
        s.execute(select(Company.id).where(Company.id == company_id).with_for_update()).one()

    @staticmethod
    def _admin_remains(s: Session, *, except_user: str | None = None, except_role: str | None = None) -> bool:
        """Tell whether an active user other than `except_user`, in a role other than `except_role`, is an
        administrator."""
        q = select(Role.permissions).join(User, User.role_id == Role.id).where(User.active.is_(True))
        if except_user is not None:
            q = q.where(User.id != except_user)
        if except_role is not None:
            q = q.where(Role.id != except_role)
        return any(p.get("admin") for p in s.execute(q).scalars())

    def _ensure_admin_remains(self, s: Session, user: User, new_role_id: str | None) -> None:
        """Refuse to take the last active administrator's rights away (demoting or deactivating `user`).

        The company's row is locked first (`_lock_company`), before the roles are read: two administrators
        removing each other at once cannot both see the other one still there, and a user moved to a role
        cannot count on its `admin` right while update_role is taking it away."""
        self._lock_company(s, user.company_id)
        current = s.get(Role, user.role_id, populate_existing=True)
        if not current.permissions.get("admin"):
            return
        if new_role_id is not None and s.get(Role, new_role_id, populate_existing=True).permissions.get("admin"):
            return
        if not self._admin_remains(s, except_user=user.id):
            raise FailedPrecondition("last_admin", "The company must keep at least one active administrator")

    def deactivate_user(self, principal: Principal, user_id: str) -> User:
        """Deactivate a user (admin): its sessions end at once; publishes UserDeactivated."""
        self._require(principal, "manage_users")
        with self.db.session(company_id=principal.company_id, write=True) as s:
            user = self._user(s, user_id, lock=True)
            if not user.active:
                return user
            self._ensure_admin_remains(s, user, new_role_id=None)
            user.active = False
            user.deactivated_at = utcnow()
            s.execute(update(RefreshSession).where(RefreshSession.user_id == user.id,
                                                   RefreshSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
            self._publish(s, USER_TOPIC, "user", user.id, ev.UserDeactivated(user_id=user.id),
                          principal.company_id, principal.user_id)
            return user

    # groups
    def list_groups(self, principal: Principal) -> list[tuple[Group, int]]:
        with self.db.session(company_id=principal.company_id) as s:
            counts = dict(s.execute(select(User.group_id, func.count()).where(User.active.is_(True))
                                    .group_by(User.group_id)).all())
            groups = s.execute(select(Group).order_by(Group.name, Group.id)).scalars().all()
            return [(g, counts.get(g.id, 0)) for g in groups]

    def _group_name(self, name: str) -> str:
        errors = FieldCollector()
        name = model.check_text(errors, "name", name, max_len=100)
        errors.raise_if_any()
        return name

    def create_group(self, principal: Principal, name: str) -> Group:
        self._require(principal, "manage_users")
        name = self._group_name(name)
        with self.db.session(company_id=principal.company_id, write=True) as s:
            group = Group(id=_new_id(), name=name)
            s.add(group)
            return group

    def update_group(self, principal: Principal, group_id: str, name: str) -> Group:
        self._require(principal, "manage_users")
        name = self._group_name(name)
        with self.db.session(company_id=principal.company_id, write=True) as s:
            group = s.execute(select(Group).where(Group.id == group_id)).scalar_one_or_none()
            if group is None:
                raise NotFound("group_not_found", "Group not found")
            group.name = name
            return group

    def delete_group(self, principal: Principal, group_id: str) -> None:
        self._require(principal, "manage_users")
        with self.db.session(company_id=principal.company_id, write=True) as s:
            # FOR UPDATE: a user joining the group (FOR KEY SHARE in _check_refs) waits, or is waited for
            group = one_or_not_found(s, select(Group).where(Group.id == group_id), "group_not_found", "Group not found",
                                     lock=True)
            if s.execute(select(User.id).where(User.group_id == group_id)).first() is not None:
                raise FailedPrecondition("group_not_empty", "The group still has users")
            s.delete(group)

    # roles
    def list_roles(self, principal: Principal) -> list[Role]:
        with self.db.session(company_id=principal.company_id) as s:
            return list(s.execute(select(Role).order_by(Role.name, Role.id)).scalars())

    def create_role(self, principal: Principal, name: str, permissions: dict) -> Role:
        self._require(principal, "manage_roles")
        name = self._group_name(name)
        with self.db.session(company_id=principal.company_id, write=True) as s:
            role = Role(id=_new_id(), name=name, permissions=model.normalize_permissions(permissions), system=False)
            s.add(role)
            return role

    def update_role(self, principal: Principal, role_id: str, name: str | None, permissions: dict | None) -> Role:
        self._require(principal, "manage_roles")
        clean_name = self._group_name(name) if name is not None else None
        perms = model.normalize_permissions(permissions) if permissions is not None else None
        with self.db.session(company_id=principal.company_id, write=True) as s:
            if perms is not None and not perms["admin"]:  # may take admin away: check in turn (_lock_company)
                self._lock_company(s, principal.company_id)
            role = one_or_not_found(s, select(Role).where(Role.id == role_id), "role_not_found", "Role not found")
            if perms is not None:
                if role.system and not perms["admin"]:
                    raise FailedPrecondition("role_protected", "The administrator role keeps its rights")
                takes_admin = role.permissions.get("admin") and not perms["admin"]
                held = takes_admin and s.execute(select(User.id).where(
                    User.role_id == role.id, User.active.is_(True))).first() is not None
                if held and not self._admin_remains(s, except_role=role.id):
                    raise FailedPrecondition("last_admin", "The company must keep at least one active administrator")
                role.permissions = perms
            if clean_name is not None:
                role.name = clean_name
            self._publish(s, ROLE_TOPIC, "role", role.id, ev.RoleChanged(role_id=role.id), principal.company_id,
                          principal.user_id)
            return role

    def delete_role(self, principal: Principal, role_id: str) -> None:
        self._require(principal, "manage_roles")
        with self.db.session(company_id=principal.company_id, write=True) as s:
            # FOR UPDATE: a user joining the role (FOR KEY SHARE in _check_refs) waits, or is waited for
            role = one_or_not_found(s, select(Role).where(Role.id == role_id), "role_not_found", "Role not found",
                                    lock=True)
            if role.system:
                raise FailedPrecondition("role_protected", "The administrator role cannot be deleted")
            if s.execute(select(User.id).where(User.role_id == role_id)).first() is not None:
                raise FailedPrecondition("role_in_use", "Users still have this role")
            s.delete(role)


RESET_TEXT = {
    "ru": ("Смена пароля в CRM",
           "Здравствуйте, {name}!\n\nЧтобы задать новый пароль для CRM «{company}» (CRM ID {crm_id}), перейдите по "
           "ссылке:\n\n{link}\n\nСсылка действует {minutes} минут и только один раз. Если вы не запрашивали смену "
           "пароля, просто проигнорируйте это письмо.\n"),
    "en": ("Reset your CRM password",
           "Hello {name},\n\nTo set a new password for the CRM \"{company}\" (CRM ID {crm_id}), open this link:\n\n"
           "{link}\n\nThe link works once and for {minutes} minutes. If you did not ask for this, ignore this "
           "e-mail.\n"),
}


def reset_mail(language: str, name: str, company: Company, link: str, minutes: int) -> tuple[str, str]:
    """Subject and body of the password reset e-mail."""
    subject, body = RESET_TEXT.get(language, RESET_TEXT["ru"])
    return subject, body.format(name=name, company=company.name, crm_id=model.format_crm_id(company.crm_id),
                                link=link, minutes=minutes)
