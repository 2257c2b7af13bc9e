"""The web UI's texts (web/src/texts): the three languages hold the same keys, and the Uzbek ones are Latin
script with the one apostrophe style the API messages use (TypeScript checks the keys at build time; this
checks what it cannot)."""

from __future__ import annotations

import re

import pytest

from tests.support.infra import ROOT

TEXTS = ROOT / "web" / "src" / "texts"
ENTRY = re.compile(r'^\s+(\w+): "(.*)",$')


def _texts(lang: str) -> dict[str, str]:
    body = (TEXTS / f"{lang}.ts").read_text(encoding="utf-8").split("= {", 1)[1].rsplit("};", 1)[0]
    lines = [line for line in body.splitlines() if line.strip()]
    entries = [ENTRY.match(line) for line in lines]
    assert all(entries), [line for line, m in zip(lines, entries) if not m]  # one "key: text," a line
    return {m.group(1): m.group(2) for m in entries}


def test_every_language_has_every_key():
    ru = _texts("ru")
    assert {"signup_title", "company_language", "company_language_hint"} <= set(ru)
    for lang in ("uz", "en"):
        assert set(_texts(lang)) == set(ru), lang


@pytest.mark.parametrize("key,text", sorted(_texts("uz").items()))
def test_uzbek_is_latin_with_one_apostrophe_style(key, text):
    if key == "lang_ru":
        return  # "Русский" names Russian in Russian on the switcher
    assert text.strip()
    assert not any("\u0400" <= ch <= "\u04ff" for ch in text), f"{key}: Cyrillic in {text!r}"
    assert not set(text) & {"'", "`", "\u02bb", "\u02bc"}, f"{key}: apostrophe style in {text!r}"
    assert "o’" not in text.lower() and "g’" not in text.lower(), f"{key}: o’/g’ instead of o‘/g‘ in {text!r}"


def test_uzbek_is_not_a_copy_of_another_language():
    uz, ru, en = _texts("uz"), _texts("ru"), _texts("en")
    same = [k for k in uz if uz[k] in (ru[k], en[k]) and not k.startswith("lang_")]
    # a few words are the same in Uzbek (CRM, CRM ID, proper names); anything more is untranslated
    assert len(same) <= 0.05 * len(uz), same
