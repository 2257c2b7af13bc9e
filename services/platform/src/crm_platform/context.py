"""Request-scoped context (request id, caller) shared by logs, interceptors and clients."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
principal_var: contextvars.ContextVar["Principal | None"] = contextvars.ContextVar("principal", default=None)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user of a company, or a service acting for one."""

    company_id: str
    user_id: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    kind: str = "user"  # "user" or "service"
    session_id: str = ""
    token: str = ""
    caller: str = ""  # a service principal's calling service (the token's `svc`)
    language: str = ""  # a user's company's language (the token's `lng`): ru, uz, en; "" when not named

    def can(self, permission: str) -> bool:
        """Tell whether the caller holds `permission` (admins hold every one)."""
        return "admin" in self.permissions or permission in self.permissions


def new_request_id() -> str:
    """Make a fresh request id."""
    return uuid.uuid4().hex


def current_principal() -> Principal | None:
    """Return the caller of the current request, if any."""
    return principal_var.get()
