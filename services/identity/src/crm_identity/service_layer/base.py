"""What every identity use case shares: the database, units of work, the token signer, password hashing,
the attempt limits, the rule that nobody grants a right they do not hold, and the tokens a login or a
refresh issues."""

from __future__ import annotations

import datetime as _dt
import hashlib
import secrets
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy.orm import Session

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm_platform.auth import ACCESS, TokenSigner
from crm_platform.context import Principal
from crm_platform.db import Database, utcnow
from crm_platform.errors import PermissionDenied
from crm_platform.uow import UnitOfWork, Units
from crm_identity.adapters.orm import PLATFORM, Company, RefreshSession, Role, User
from crm_identity.domain import model
from crm_identity.service_layer.limits import AttemptLimiter, Limits

# OWASP's first recommended argon2id configuration: m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
DUMMY_HASH = HASHER.hash("timing-equaliser")


def sha256(value: str) -> str:
    """Hash a token for storage."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_id() -> str:
    return str(uuid.uuid4())


def password_ok(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


class IdentityBase:
    """The identity use cases' shared state and plumbing."""

    def __init__(self, db: Database, signer: TokenSigner, *, access_ttl: int = 900, refresh_ttl_days: int = 30,
                 reset_ttl: int = 3600, public_url: str = "http://127.0.0.1:8080", limits: Limits | None = None):
        self.db = db
        self.limiter = AttemptLimiter(db, limits)
        self.units = Units(db, PLATFORM)
        self.signer = signer
        self.access_ttl = access_ttl
        self.refresh_ttl = _dt.timedelta(days=refresh_ttl_days)
        self.reset_ttl = _dt.timedelta(seconds=reset_ttl)
        self.public_url = public_url.rstrip("/")

    # ---- tokens -------------------------------------------------------------------------
    def _issue(self, s: Session, user: User, family_id: str | None = None) -> dict:
        role = s.get(Role, user.role_id)
        family_id = family_id or new_id()
        refresh = secrets.token_urlsafe(32)
        now = utcnow()
        s.add(RefreshSession(id=new_id(), company_id=user.company_id, user_id=user.id, family_id=family_id,
                             token_hash=sha256(refresh), created_at=now, expires_at=now + self.refresh_ttl))
        company = s.get(Company, user.company_id)
        # `lng`: the company's language, so a service seeding on a first read names things in it
        access = self.signer.sign(typ=ACCESS, company_id=user.company_id, user_id=user.id,
                                  ttl=_dt.timedelta(seconds=self.access_ttl),
                                  permissions=model.granted(role.permissions), session_id=family_id,
                                  extra={"lng": company.language} if company is not None else None)
        return {"access_token": access, "refresh_token": refresh, "expires_in": self.access_ttl}

    @staticmethod
    def _require(principal: Principal, permission: str) -> None:
        if not principal.can(permission):
            raise PermissionDenied("forbidden", "Your role does not allow this", permission=permission)

    @staticmethod
    def _rights(s: Session, principal: Principal) -> frozenset[str]:
        """The rights the calling user holds now (their role as stored, not as the token was signed: a
        demoted administrator's token still says `admin` for up to its 15 minutes); none when the user is
        gone or deactivated. A service acting for a company keeps what its token names."""
        if principal.kind != "user":
            return principal.permissions
        user = s.get(User, principal.user_id)
        if user is None or not user.active:
            return frozenset()
        role = s.get(Role, user.role_id)
        return frozenset(model.granted(role.permissions)) if role is not None else frozenset()

    @staticmethod
    def _require_held(held: frozenset[str], permission: str) -> None:
        if "admin" not in held and permission not in held:
            raise PermissionDenied("forbidden", "Your role does not allow this", permission=permission)

    @staticmethod
    def _require_all(held: frozenset[str], rights) -> None:
        """No escalation: refuse (403 `forbidden`, naming the first missing right) unless `held` holds every
        right in `rights` (an administrator holds all; only an administrator holds `admin`)."""
        missing = model.beyond(held, rights)
        if missing:
            raise PermissionDenied("forbidden", "You cannot grant or touch a right you do not hold",
                                   permission=missing[0])

    @staticmethod
    def _publish_user_created(uow: UnitOfWork, user: User) -> None:
        uow.publish(user.id, ev.UserCreated(user_id=user.id, email=user.email, role_id=user.role_id,
                                            group_id=user.group_id, first_name=user.first_name,
                                            last_name=user.last_name))
