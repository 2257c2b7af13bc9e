"""Identity rules with no I/O: field limits, CRM IDs, passwords, permissions, default roles."""

from __future__ import annotations

import functools
import pathlib
import re
import secrets

from crm_platform.errors import FieldCollector

NAME_MAX = 30
PASSWORD_MIN = 8
PASSWORD_MAX = 30  # the FAQ: every text field, passwords too, holds at most 30 characters
# The 10,000 most common passwords, lowercased (the head of the list Django ships, made by Royce Williams
# from breach corpora; one a line, most common first).
COMMON_PASSWORDS_FILE = pathlib.Path(__file__).with_name("common_passwords.txt")
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")

# Readable over the phone: no 0/O, 1/I/L, and no vowels that could spell words.
CRM_ID_ALPHABET = "23456789BCDFGHJKMNPQRSTVWXZ"
CRM_ID_LENGTH = 8

PERMISSIONS = ("admin", "edit_phone", "manage_users", "manage_funnels", "manage_processes",
               "restore_records", "manage_roles", "manage_billing", "view_reports")
ADMIN_PERMISSIONS = {p: True for p in PERMISSIONS}
MANAGER_PERMISSIONS = {p: p == "edit_phone" for p in PERMISSIONS}
DEFAULT_TIME_ZONE = "Asia/Tashkent"

# A company's language: the one its seeded roles and group are named in, and that every service seeds its
# names in (funnels, stages, task types). Russian unless the sign-up asks otherwise; companies from before
# languages were stored keep their English names and are "en" (the 2026-12-03 migration's default).
LANGUAGES = ("ru", "uz", "en")
DEFAULT_LANGUAGE = "ru"
SEEDED_NAMES = {  # language -> (administrator role, manager role, the first group)
    "ru": ("Администратор", "Менеджер", "Основная"),
    "uz": ("Administrator", "Menejer", "Asosiy"),
    "en": ("Administrator", "Manager", "Main"),
}


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


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (read once)."""
    return frozenset(line.strip() for line in COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
                     if line.strip())


def is_common_password(password: str) -> bool:
    """Tell whether `password` is on the common list (case and surrounding spaces ignored)."""
    return password.strip().lower() in common_passwords()


def check_password(errors: FieldCollector, field: str, value: str | None) -> str:
    """Check a new password: 8..30 characters, not only spaces, not one of the common passwords."""
    password = value or ""
    if not password.strip():
        errors.add(field, "required")
    elif len(password) < PASSWORD_MIN:
        errors.add(field, "too_short", min=PASSWORD_MIN)
    elif len(password) > PASSWORD_MAX:
        errors.add(field, "too_long", max=PASSWORD_MAX)
    elif is_common_password(password):
        errors.add(field, "password_common")
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


def beyond(held: frozenset[str] | set[str], wanted) -> list[str]:
    """The rights among `wanted` (names) that a holder of `held` does not hold (an admin holds every one)."""
    if "admin" in held:
        return []
    return [p for p in PERMISSIONS if p in set(wanted) and p not in held]


def changed_toggles(old: dict[str, bool], new: dict[str, bool]) -> list[str]:
    """The toggles that `new` turns on or off compared with `old`."""
    return [p for p in PERMISSIONS if bool(old.get(p)) != bool(new.get(p))]


def check_language(errors: FieldCollector, field: str, value: str | None) -> str:
    """Check a company language (empty: the default, Russian); return it lowercased."""
    language = (value or "").strip().lower() or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        errors.add(field, "invalid_choice", choices=list(LANGUAGES))
    return language


def valid_time_zone(name: str) -> bool:
    """Tell whether `name` is an IANA time zone this system knows."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
        return True
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
