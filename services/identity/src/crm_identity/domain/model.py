"""Identity rules with no I/O: field limits, CRM IDs, permissions, default roles."""

from __future__ import annotations

import re
import secrets

from crm_platform.errors import FieldCollector

NAME_MAX = 30
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")

# Readable over the phone: no 0/O, 1/I/L, and no vowels that could spell words.
CRM_ID_ALPHABET = "23456789BCDFGHJKMNPQRSTVWXZ"
CRM_ID_LENGTH = 8

PERMISSIONS = ("admin", "edit_phone", "manage_users", "manage_funnels", "manage_processes",
               "restore_records", "manage_roles", "manage_billing")
ADMIN_PERMISSIONS = {p: True for p in PERMISSIONS}
MANAGER_PERMISSIONS = {p: p == "edit_phone" for p in PERMISSIONS}
DEFAULT_TIME_ZONE = "Asia/Tashkent"


def new_crm_id() -> str:
    """Make a random CRM ID such as 'K7M2Q9XD' (27^8, about 2.8e11 values)."""
    return "".join(secrets.choice(CRM_ID_ALPHABET) for _ in range(CRM_ID_LENGTH))


def normalize_crm_id(value: str) -> str:
    """Accept 'k7m2-q9xd', ' K7M2Q9XD ' and the like."""
    return re.sub(r"[\s-]", "", value or "").upper()


def format_crm_id(crm_id: str) -> str:
    """Show a CRM ID in two halves, as read over the phone."""
    return f"{crm_id[:4]}-{crm_id[4:]}"


def normalize_email(value: str) -> str:
    """Compare e-mails case-insensitively, ignoring surrounding spaces."""
    return (value or "").strip().lower()


def check_text(errors: FieldCollector, field: str, value: str | None, *, max_len: int = NAME_MAX,
               strip: bool = True, required: bool = True) -> str:
    """Check a 1..max_len text field; return it (trimmed)."""
    return errors.text(field, value, max_len=max_len, required=required, strip=strip)


def check_email(errors: FieldCollector, field: str, value: str | None) -> str:
    """Check an e-mail: 1..30 characters and a valid address; return it normalised."""
    email = check_text(errors, field, value)
    if email and len(email) <= NAME_MAX and not EMAIL_RE.match(email):
        errors.add(field, "invalid_email")
    return normalize_email(email)


def check_password(errors: FieldCollector, field: str, value: str | None) -> str:
    """Check a password: 1..30 characters, not only spaces."""
    password = value or ""
    if not password.strip():
        errors.add(field, "required")
    elif len(password) > NAME_MAX:
        errors.add(field, "too_long", max=NAME_MAX)
    return password


def normalize_permissions(values: dict[str, bool]) -> dict[str, bool]:
    """Keep the known toggles; admin implies every one."""
    perms = {p: bool(values.get(p, False)) for p in PERMISSIONS}
    if perms["admin"]:
        perms = dict(ADMIN_PERMISSIONS)
    return perms


def granted(perms: dict[str, bool]) -> list[str]:
    """Names of the toggles that are on."""
    return [p for p in PERMISSIONS if perms.get(p)]


def valid_time_zone(name: str) -> bool:
    """Tell whether `name` is an IANA time zone this system knows."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
        return True
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
