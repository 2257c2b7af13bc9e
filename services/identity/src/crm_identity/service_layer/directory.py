"""The company's directory: users (with the rule that an active administrator remains), groups and roles.

No escalation: whoever manages users or roles acts with the rights their role holds now (read from the
database, not the token), and cannot grant a right they lack: a role manager changes only the toggles they
hold (so only an administrator grants or takes `admin`), a user manager assigns only roles within their own
rights and edits only users whose rights are within theirs (so only an administrator assigns an
administrator role, or edits an administrator's e-mail or password). Changing one's own password or e-mail
needs the current password, and ends one's other sessions."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.context import Principal
from crm_platform.db import one_or_not_found, utcnow
from crm_platform.errors import Conflict, FailedPrecondition, FieldCollector, NotFound, PermissionDenied
from crm_identity.adapters.orm import Company, Group, RefreshSession, Role, User
from crm_identity.domain import model
from crm_identity.service_layer.base import HASHER, IdentityBase, new_id, password_ok


class DirectoryUseCases(IdentityBase):
    # ---- directory ----------------------------------------------------------------------
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
        """Add a user to the caller's company (manage_users, with a role within the caller's rights);
        publishes UserCreated."""
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
        with self.units.of(principal) as uow:
            s = uow.session
            held = self._rights(s, principal)
            self._require_held(held, "manage_users")
            self._check_refs(s, errors, role_id or None, group_id or None)
            errors.raise_if_any()
            self._require_all(held, model.granted(s.get(Role, role_id).permissions))
            if s.execute(select(User.id).where(User.email == email)).first() is not None:
                raise Conflict("email_taken", "User with this email already exists", field="email")
            user = User(id=new_id(), first_name=first_name, last_name=last_name, email=email,
                        password_hash=HASHER.hash(password), role_id=role_id, group_id=group_id, active=True,
                        created_at=utcnow())
            s.add(user)
            try:
                s.flush()
            except IntegrityError as exc:
                raise Conflict("email_taken", "User with this email already exists", field="email") from exc
            self._publish_user_created(uow, user)
            return user

    def update_user(self, principal: Principal, user_id: str, changes: dict,
                    current_password: str | None = None) -> User:
        """Edit a user (manage_users, for a user within the caller's rights; anyone for their own names and
        password). One's own password or e-mail changes only with `current_password` (403
        `current_password_invalid` otherwise), and a new own password ends one's other sessions."""
        own = user_id == principal.user_id
        own_profile = own and not ({"role_id", "group_id", "email"} & set(changes))
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
            password = model.check_password(errors, "password", changes["password"])
            if not errors.fields:
                clean["password_hash"] = HASHER.hash(password)
        checked_hash = None
        if own and {"password", "email"} & set(changes):
            errors.raise_if_any()
            checked_hash = self._check_current_password(principal, current_password)
        with self.units.of(principal) as uow:
            s = uow.session
            user = self._user(s, user_id, lock=True)
            if checked_hash is not None and user.password_hash != checked_hash:  # changed since the check
                raise PermissionDenied("current_password_invalid", "The current password is wrong")
            held = frozenset()  # (a role change is never an own-profile edit: the rights are read below)
            if not own_profile:
                held = self._rights(s, principal)
                self._require_held(held, "manage_users")
                self._require_all(held, model.granted(s.get(Role, user.role_id).permissions))
            self._check_refs(s, errors, changes.get("role_id"), changes.get("group_id"))
            errors.raise_if_any()
            if "role_id" in changes:
                clean["role_id"] = changes["role_id"]
                if user.role_id != changes["role_id"]:
                    self._require_all(held, model.granted(s.get(Role, changes["role_id"]).permissions))
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
            if "password_hash" in changed:  # every session ends; one's own change keeps the session it came from
                ended = update(RefreshSession).where(RefreshSession.user_id == user.id,
                                                     RefreshSession.revoked_at.is_(None))
                if own and principal.session_id:
                    ended = ended.where(RefreshSession.family_id != principal.session_id)
                s.execute(ended.values(revoked_at=utcnow()))
            if changed:
                uow.publish(user.id, ev.UserUpdated(user_id=user.id,
                                                    changed_fields=[c.replace("_hash", "") for c in changed]))
            return user

    def _check_current_password(self, principal: Principal, current_password: str | None) -> str:
        """Check the caller's own current password (limited per user: a stolen access token gives no
        unlimited guesses); return the hash it matched. 403 `current_password_invalid` when missing or wrong."""
        if not current_password:
            raise PermissionDenied("current_password_invalid", "Enter your current password")
        self.limiter.password_check(principal.user_id)
        with self.db.session(company_id=principal.company_id) as s:
            stored = self._user(s, principal.user_id).password_hash
        if not password_ok(stored, current_password):
            raise PermissionDenied("current_password_invalid", "The current password is wrong")
        return stored

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
        """Deactivate a user (manage_users, for a user within the caller's rights): its sessions end at once;
        publishes UserDeactivated."""
        self._require(principal, "manage_users")
        with self.units.of(principal) as uow:
            s = uow.session
            user = self._user(s, user_id, lock=True)
            held = self._rights(s, principal)
            self._require_held(held, "manage_users")
            self._require_all(held, model.granted(s.get(Role, user.role_id).permissions))
            if not user.active:
                return user
            self._ensure_admin_remains(s, user, new_role_id=None)
            user.active = False
            user.deactivated_at = utcnow()
            s.execute(update(RefreshSession).where(RefreshSession.user_id == user.id,
                                                   RefreshSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
            uow.publish(user.id, ev.UserDeactivated(user_id=user.id))
            return user

    def activate_user(self, principal: Principal, user_id: str) -> User:
        """Reactivate a deactivated user (manage_users, for a user within the caller's rights: only an
        administrator reactivates an administrator). They log in again and take a seat again: publishes
        UserActivated (billing counts the seat) and UserUpdated naming `active` (caches of users refresh).
        Idempotent: an active user is answered as is, nothing published; a refusal changes nothing."""
        self._require(principal, "manage_users")
        with self.units.of(principal) as uow:
            s = uow.session
            user = self._user(s, user_id, lock=True)
            held = self._rights(s, principal)
            self._require_held(held, "manage_users")
            self._require_all(held, model.granted(s.get(Role, user.role_id).permissions))
            if user.active:
                return user
            user.active = True
            user.deactivated_at = None
            uow.publish(user.id, ev.UserActivated(user_id=user.id))
            uow.publish(user.id, ev.UserUpdated(user_id=user.id, changed_fields=["active"]))
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
        with self.units.of(principal) as uow:
            s = uow.session
            group = Group(id=new_id(), name=name)
            s.add(group)
            return group

    def update_group(self, principal: Principal, group_id: str, name: str) -> tuple[Group, int]:
        """Rename a group (manage_users); answers it with its number of active users."""
        self._require(principal, "manage_users")
        name = self._group_name(name)
        with self.units.of(principal) as uow:
            s = uow.session
            group = s.execute(select(Group).where(Group.id == group_id)).scalar_one_or_none()
            if group is None:
                raise NotFound("group_not_found", "Group not found")
            group.name = name
            return group, self._count_users(s, User.group_id == group_id, active_only=True)

    @staticmethod
    def _count_users(s: Session, where, active_only: bool = False) -> int:
        q = select(func.count()).select_from(User).where(where)
        if active_only:
            q = q.where(User.active.is_(True))
        return s.execute(q).scalar_one()

    def delete_group(self, principal: Principal, group_id: str) -> None:
        self._require(principal, "manage_users")
        with self.units.of(principal) as uow:
            s = uow.session
            # FOR UPDATE: a user joining the group (FOR KEY SHARE in _check_refs) waits, or is waited for
            group = one_or_not_found(s, select(Group).where(Group.id == group_id), "group_not_found", "Group not found",
                                     lock=True)
            users = self._count_users(s, User.group_id == group_id)
            if users:  # deactivated users count too: they keep their group (and may be reactivated)
                raise FailedPrecondition("group_not_empty", "The group still has users", users=users)
            s.delete(group)

    # roles
    def list_roles(self, principal: Principal) -> list[Role]:
        with self.db.session(company_id=principal.company_id) as s:
            return list(s.execute(select(Role).order_by(Role.name, Role.id)).scalars())

    def create_role(self, principal: Principal, name: str, permissions: dict) -> Role:
        self._require(principal, "manage_roles")
        name = self._group_name(name)
        perms = model.normalize_permissions(permissions)
        with self.units.of(principal) as uow:
            s = uow.session
            held = self._rights(s, principal)
            self._require_held(held, "manage_roles")
            self._require_all(held, model.granted(perms))
            role = Role(id=new_id(), name=name, permissions=perms, system=False)
            s.add(role)
            return role

    def update_role(self, principal: Principal, role_id: str, name: str | None, permissions: dict | None) -> Role:
        self._require(principal, "manage_roles")
        clean_name = self._group_name(name) if name is not None else None
        perms = model.normalize_permissions(permissions) if permissions is not None else None
        with self.units.of(principal) as uow:
            s = uow.session
            if perms is not None and not perms["admin"]:  # may take admin away: check in turn (_lock_company)
                self._lock_company(s, principal.company_id)
            role = one_or_not_found(s, select(Role).where(Role.id == role_id), "role_not_found", "Role not found")
            held = self._rights(s, principal)
            self._require_held(held, "manage_roles")
            if perms is not None:
                self._require_all(held, model.changed_toggles(role.permissions, perms))
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
            uow.publish(role.id, ev.RoleChanged(role_id=role.id))
            return role

    def delete_role(self, principal: Principal, role_id: str) -> None:
        self._require(principal, "manage_roles")
        with self.units.of(principal) as uow:
            s = uow.session
            # FOR UPDATE: a user joining the role (FOR KEY SHARE in _check_refs) waits, or is waited for
            role = one_or_not_found(s, select(Role).where(Role.id == role_id), "role_not_found", "Role not found",
                                    lock=True)
            if role.system:
                raise FailedPrecondition("role_protected", "The administrator role cannot be deleted")
            users = self._count_users(s, User.role_id == role_id)
            if users:  # deactivated users count too: they keep their role (and may be reactivated)
                raise FailedPrecondition("role_in_use", "Users still have this role", users=users)
            s.delete(role)
