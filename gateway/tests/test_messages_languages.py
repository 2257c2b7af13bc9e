"""Every API message exists in every language with the same format fields, and Accept-Language picks Uzbek."""

from __future__ import annotations

import string

import pytest

from crm_gateway.messages import (DEFAULT_LANGUAGE, ERRORS, FIELD_ERRORS, LANGUAGES, error_text, field_text,
                                  pick_language)

TABLES = {"ERRORS": ERRORS, "FIELD_ERRORS": FIELD_ERRORS}
ENTRIES = [(name, code) for name, table in TABLES.items() for code in table]


def _fields(text: str) -> list[str]:
    """The {format} fields of a text, sorted, with repeats (a malformed template fails the test)."""
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_the_three_languages_are_supported():
    assert set(LANGUAGES) == {"en", "ru", "uz"}
    assert DEFAULT_LANGUAGE == "en"


@pytest.mark.parametrize("table,code", ENTRIES, ids=[f"{t}:{c}" for t, c in ENTRIES])
def test_every_code_has_every_language_with_the_english_format_fields(table, code):
    texts = TABLES[table][code]
    assert set(texts) == set(LANGUAGES), f"{code}: languages {sorted(texts)}"
    expected = _fields(texts["en"])
    for lang in LANGUAGES:
        assert texts[lang].strip(), f"{code}/{lang} is empty"
        assert _fields(texts[lang]) == expected, f"{code}/{lang}: {texts[lang]!r}"


@pytest.mark.parametrize("table,code", ENTRIES, ids=[f"{t}:{c}" for t, c in ENTRIES])
def test_uzbek_is_latin_with_one_apostrophe_style(table, code):
    text = TABLES[table][code]["uz"]
    assert not any("\u0400" <= ch <= "\u04ff" for ch in text), f"{code}: Cyrillic in {text!r}"
    # o‘ and g‘ take U+2018, the tutuq belgisi U+2019; never ASCII ' or ` or the look-alikes ʻ ʼ
    assert not set(text) & {"'", "`", "\u02bb", "\u02bc"}, f"{code}: apostrophe style in {text!r}"
    assert "o’" not in text.lower() and "g’" not in text.lower(), f"{code}: o’/g’ instead of o‘/g‘ in {text!r}"


@pytest.mark.parametrize("header", ["uz", "uz-UZ", "uz-Latn", "UZ-latn-uz", "uz-UZ,uz;q=0.9,ru;q=0.8,en;q=0.7",
                                    "ru;q=0.5, uz;q=0.9", "de, uz;q=0.3"])
def test_accept_language_picks_uzbek(header):
    assert pick_language(header) == "uz"


@pytest.mark.parametrize("header,expected", [(None, "en"), ("", "en"), ("de-DE", "en"), ("ru-RU,uz;q=0.5", "ru"),
                                             ("uz;q=0.2, en", "en")])
def test_the_other_choices_stay_as_they_were(header, expected):
    assert pick_language(header) == expected


def test_uzbek_texts_are_filled_in():
    assert error_text("rate_limited", "uz", {"retry_after": 3}) == \
        "So‘rovlar juda ko‘p. 3 soniyadan keyin qayta urinib ko‘ring."
    assert field_text("too_long", "uz", {"max": 80}) == "Ko‘pi bilan 80 ta belgi."
    assert error_text("deal_not_found", "uz") == "Bitim topilmadi."


@pytest.fixture(scope="module")
def client(keys):
    from crm_gateway.app import create_app
    from crm_gateway.config import GatewaySettings

    app = create_app(GatewaySettings(identity_addr="127.0.0.1:1", auth_public_key=keys["access_public"]))
    return app.test_client()


@pytest.mark.parametrize("header,lang", [("uz", "uz"), ("uz-UZ", "uz"), ("uz-Latn", "uz"), ("ru", "ru"),
                                         (None, "en")])
def test_an_api_error_answers_in_the_chosen_language(client, header, lang):
    resp = client.get("/api/v1/nothing-here", headers={"Accept-Language": header} if header else {})
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"
    assert resp.json["error"]["message"] == ERRORS["not_found"][lang]
    assert resp.headers["Content-Language"] == lang
