"""Bearer token verification at the edge; the token is forwarded so each service verifies it too."""

from __future__ import annotations

from flask import current_app, g, request

from crm_gateway.errors import ApiError
from crm_platform.errors import Unauthenticated


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


def require(permission: str) -> None:
    """Answer 403 unless the caller's role has `permission` (services check again)."""
    if not g.principal.can(permission):
        raise ApiError(403, "forbidden", permission=permission)
