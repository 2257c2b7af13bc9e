"""Bearer token verification at the edge; the token is forwarded so each service verifies it too."""

from __future__ import annotations

import logging
import threading
import time

import grpc
from flask import current_app, g, request

from crm_gateway.errors import ApiError
from crm_platform.errors import Unauthenticated

log = logging.getLogger(__name__)


class SessionCache:
    """Remember for a moment that a token's session is live, so identity is asked at most once a second per
    token. Keyed by the token (its signature), not the session: after a refresh, the session's new token
    being checked must not vouch for the old one, whose rights may be the ones just taken away."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def fresh(self, key: str) -> bool:
        with self._lock:
            return self._seen.get(key, 0) > time.monotonic()

    def remember(self, key: str) -> None:
        with self._lock:
            if len(self._seen) > 50_000:
                self._seen.clear()
            self._seen[key] = time.monotonic() + self.ttl


def _check_session(principal) -> None:
    """A deactivated user's or a logged-out session's token stops working within the cache's TTL (401
    `session_ended`), and so does a token whose rights are no longer the user's role's (401 `rights_changed`:
    a refresh gives a token with the current rights), so a demoted administrator loses `admin` within it.

    When identity cannot be reached, the signed token alone is trusted (it lives at most 15
    minutes), so that requests which do not need identity keep working during its outage.
    """
    from crm_gateway.clients import identity

    ext = current_app.extensions["crm"]
    cache: SessionCache = ext.sessions
    key = principal.token.rsplit(".", 1)[-1] or principal.session_id
    if cache.ttl <= 0 or cache.fresh(key):
        return
    try:
        reason = identity.check_session()
    except ApiError as exc:  # identity not connected
        if exc.code != "service_unavailable":
            raise
        log.warning("identity unreachable: session %s trusted on its signature", principal.session_id)
        return
    except grpc.RpcError as exc:
        if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            log.warning("identity unreachable: session %s trusted on its signature", principal.session_id)
            return
        if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
            reason = "session_ended"
        else:
            raise
    if reason:
        raise ApiError(401, reason if reason == "rights_changed" else "session_ended",
                       headers={"WWW-Authenticate": "Bearer"})
    cache.remember(key)


def authenticate() -> None:
    """Verify the Authorization header and remember the caller in `g`."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) < 8:
        raise ApiError(401, "unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    token = header[7:].strip()
    try:
        principal = current_app.extensions["crm"].verifier.verify(token, allowed=("access",))
    except Unauthenticated as exc:
        raise ApiError(401, exc.code, headers={"WWW-Authenticate": "Bearer"}) from exc
    g.principal = principal
    g.token = token
    settings = current_app.extensions["crm"].settings
    current_app.extensions["crm"].limiter.hit(f"company:{principal.company_id}", settings.company_per_minute)
    _check_session(principal)


def require(permission: str) -> None:
    """Answer 403 unless the caller's role has `permission` (services check again)."""
    if not g.principal.can(permission):
        raise ApiError(403, "forbidden", permission=permission)
