"""A company's language and the names sign-up seeds in it (no I/O)."""

from __future__ import annotations

import pytest

from crm_platform.errors import FieldCollector, FieldErrors
from crm_identity.domain import model


@pytest.mark.parametrize("raw,expected", [("ru", "ru"), ("uz", "uz"), ("en", "en"), ("", "ru"), (None, "ru"),
                                          (" UZ ", "uz"), ("En", "en")])
def test_a_known_language_is_kept_and_none_means_russian(raw, expected):
    errors = FieldCollector()
    assert model.check_language(errors, "language", raw) == expected
    errors.raise_if_any()


@pytest.mark.parametrize("raw", ["de", "uz-Cyrl", "russian", "ру", "u z"])
def test_another_language_is_a_field_error(raw):
    errors = FieldCollector()
    model.check_language(errors, "language", raw)
    with pytest.raises(FieldErrors) as caught:
        errors.raise_if_any()
    fields = caught.value.details["fields"]
    assert [(f["field"], f["code"]) for f in fields] == [("language", "invalid_choice")]


def test_every_language_names_the_roles_and_group():
    assert set(model.SEEDED_NAMES) == set(model.LANGUAGES) and model.DEFAULT_LANGUAGE == "ru"
    assert model.SEEDED_NAMES["en"] == ("Administrator", "Manager", "Main")  # what companies from before have
    for language, names in model.SEEDED_NAMES.items():
        assert len(names) == 3 and all(0 < len(n) <= 100 for n in names), language
    for name in model.SEEDED_NAMES["uz"]:
        assert not any("\u0400" <= ch <= "\u04ff" for ch in name) and "'" not in name
    assert all(any("\u0400" <= ch <= "\u04ff" for ch in n) for n in model.SEEDED_NAMES["ru"])
