"""The built-in task types' names in every company language (no I/O)."""

from __future__ import annotations

import pytest

from crm_records.domain import languages, model


@pytest.mark.parametrize("language", languages.LANGUAGES)
def test_every_language_names_every_builtin_type(language):
    names = languages.BUILTIN_TASK_NAMES[language]
    assert list(names) == model.BUILTIN_TASK_KEYS
    assert all(0 < len(n) <= 50 for n in names.values()) and len(set(names.values())) == len(names)


@pytest.mark.parametrize("raw,expected", [("ru", "ru"), ("uz", "uz"), ("en", "en"), ("UZ", "uz"), ("", "en"),
                                          (None, "en"), ("de", "en")])
def test_a_token_without_a_known_language_keeps_the_english_names(raw, expected):
    assert languages.company_language(raw) == expected


def test_names_by_language():
    assert languages.builtin_task_name("call", "uz", "Call") == "Qo‘ng‘iroq"
    assert languages.builtin_task_name("meeting", "ru", "Meeting") == "Встреча"
    assert languages.builtin_task_name("email", "", "E-mail") == "E-mail"
    assert languages.builtin_task_name("unknown", "uz", "Fallback") == "Fallback"


@pytest.mark.parametrize("name,builtin", [("Звонок", True), (" qo‘ng‘iroq ", True), ("MEETING", True),
                                          ("Elektron xat", True), ("Taqdimot", False), ("Звонок клиенту", False)])
def test_a_builtin_name_in_any_language_is_recognised(name, builtin):
    assert languages.is_builtin_task_name(name) is builtin
