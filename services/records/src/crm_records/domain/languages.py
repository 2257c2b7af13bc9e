"""The built-in task types' names in each company language (no I/O).

A company's language is the one identity stored at sign-up (ru, uz, en) and signs into its users' access
tokens (`lng`, `Principal.language`). The built-in types (`model.BUILTIN_TASK_TYPES`) are every company's,
so their names are given in the company's language when listed. A token that names no language comes
from before languages (those companies were seeded in English, identity's migration stored "en").
"""

from __future__ import annotations

from crm_records.domain import model

LANGUAGES = ("ru", "uz", "en")
LEGACY_LANGUAGE = "en"
BUILTIN_TASK_NAMES: dict[str, dict[str, str]] = {
    "en": dict(model.BUILTIN_TASK_TYPES),
    "ru": {"call": "Звонок", "meeting": "Встреча", "email": "Письмо", "task": "Задача"},
    "uz": {"call": "Qo‘ng‘iroq", "meeting": "Uchrashuv", "email": "Elektron xat", "task": "Vazifa"},
}


def company_language(language: str | None) -> str:
    """The language to name things in for a token's `lng` (English when it names none or an unknown one)."""
    code = (language or "").strip().lower()
    return code if code in LANGUAGES else LEGACY_LANGUAGE


def builtin_task_name(key: str, language: str | None, fallback: str) -> str:
    """The name of the built-in task type `key` in the company's language."""
    return BUILTIN_TASK_NAMES[company_language(language)].get(key, fallback)


def is_builtin_task_name(name: str) -> bool:
    """Tell whether `name` is a built-in type's name in any language (a company type may not repeat one)."""
    folded = name.strip().casefold()
    return any(folded == n.casefold() for names in BUILTIN_TASK_NAMES.values() for n in names.values())
