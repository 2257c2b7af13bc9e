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
    """Remember for a moment that a session is live, so identity is asked at most once a second per session."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def fresh(self, session_id: str) -> bool:
        with self._lock:
            return self._seen.get(session_id, 0) > time.monotonic()

    def remember(self, session_id: str) -> None:
        with self._lock:
            if len(self._seen) > 50_000:
                self._seen.clear()
            self._seen[session_id] = time.monotonic() + self.ttl


def _check_session(principal) -> None:
    """A deactivated user's or a logged-out session's token stops working within the cache's TTL.

    When identity cannot be reached, the signed token alone is trusted (it lives at most 15
    minutes), so that requests which do not need identity keep working during its outage.
    """
    from crm_gateway.clients import identity

    ext = current_app.extensions["crm"]
    cache: SessionCache = ext.sessions
    if cache.ttl <= 0 or cache.fresh(principal.session_id):
        return
    try:
        active = identity.check_session()
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
            active = False
        else:
            raise
    if not active:
        raise ApiError(401, "session_ended", headers={"WWW-Authenticate": "Bearer"})
    cache.remember(principal.session_id)


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
