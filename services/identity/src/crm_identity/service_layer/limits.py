"""Identity's own attempt limits: login, forgot and reset per account and per caller, and checks of a
user's current password, whoever calls identity (the gateway limits its clients too, but any pod that
reaches identity's port could otherwise guess passwords without limit, each try costing 19 MiB of argon2).

A limit is a token bucket of `per_minute` attempts with a burst of the same size, kept in identity's
database (`rate_buckets`) so every identity replica counts the same attempts. One attempt is one
statement per bucket: an upsert that refills the bucket by the time elapsed, takes one token and returns
what is left (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, on SQLite and PostgreSQL alike), so two
attempts at once cannot both take the last token. A refused attempt takes a token too, down to -1: who
keeps hammering waits at most two intervals (6 s at 20 a minute), and a steady attacker still gets no
more than the rate. The caller is the address of the gRPC peer (the calling pod: it cannot be forged the
way a header can); an account is the SHA-256 of the normalised e-mail, so the table holds no address.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
import time

from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite

from crm_platform.db import Database
from crm_platform.errors import RateLimited
from crm_identity.adapters.orm import RateBucket

BUCKETS = RateBucket.__table__
STALE_AFTER = 3600  # seconds; a bucket untouched for a minute is full again, for an hour: deleted


@dataclasses.dataclass(frozen=True)
class Limits:
    """Attempts per minute (0: unlimited). Callers behind one gateway share its address, so the per-caller
    limits are wide; the per-account ones are above the gateway's (10 logins and 3 forgot a minute), so
    through the gateway its own answer comes first."""

    login_per_account: int = 20
    login_per_caller: int = 600
    forgot_per_account: int = 6
    forgot_per_caller: int = 300
    reset_per_caller: int = 120
    password_check_per_user: int = 10


def account_key(email: str) -> str:
    """The bucket name part for an e-mail (hashed: the table holds no address)."""
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def caller_of(peer: str) -> str:
    """The calling host of a gRPC peer string ('ipv4:10.0.0.5:51234', 'ipv6:[::1]:51234', 'unix:...')."""
    kind, _, rest = (peer or "").partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer or "unknown"


class AttemptLimiter:
    """Token buckets in the service's database."""

    def __init__(self, db: Database, limits: Limits | None = None):
        self.db = db
        self.limits = limits or Limits()
        self._insert = sqlite.insert if db.is_sqlite else postgresql.insert

    def hit(self, *buckets: tuple[str, int]) -> None:
        """Take one attempt from each (name, per_minute) bucket; raise RateLimited (RESOURCE_EXHAUSTED, code
        `rate_limited`, details.retry_after in seconds) when any of them is empty."""
        buckets = tuple((name[:200], per_minute) for name, per_minute in buckets if per_minute > 0)
        if not buckets:
            return
        now = time.time()
        wait = 0.0
        with self.db.session(write=True) as s:
            for name, per_minute in buckets:
                rate, burst = per_minute / 60.0, float(per_minute)
                refilled = BUCKETS.c.tokens + (now - BUCKETS.c.updated_at) * rate
                taken = case((refilled > burst, burst), else_=refilled) - 1
                stmt = self._insert(BUCKETS).values(key=name, tokens=burst - 1, updated_at=now)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[BUCKETS.c.key],
                    set_={"tokens": case((taken < -1, -1.0), else_=taken), "updated_at": now},
                ).returning(BUCKETS.c.tokens)
                left = float(s.execute(stmt).scalar_one())
                if left < 0:  # refused; the next one passes once the bucket holds a whole token again
                    wait = max(wait, (1 - left) / rate)
            if random.random() < 1 / 256:  # forget buckets nobody used for an hour
                s.execute(delete(BUCKETS).where(BUCKETS.c.updated_at < now - STALE_AFTER))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise RateLimited("rate_limited", "Too many attempts", retry_after=retry)

    # ---- the attempts identity limits --------------------------------------------------------
    def login(self, email: str, caller: str) -> None:
        self.hit((f"login:acct:{account_key(email)}", self.limits.login_per_account),
                 (f"login:caller:{caller}", self.limits.login_per_caller))

    def forgot(self, email: str, caller: str) -> None:
        self.hit((f"forgot:acct:{account_key(email)}", self.limits.forgot_per_account),
                 (f"forgot:caller:{caller}", self.limits.forgot_per_caller))

    def reset(self, caller: str) -> None:
        self.hit((f"reset:caller:{caller}", self.limits.reset_per_caller))

    def password_check(self, user_id: str) -> None:
        self.hit((f"current-password:user:{user_id}", self.limits.password_check_per_user))
