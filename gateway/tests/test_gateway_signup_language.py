"""Sign-up's `language` and `GET /me`'s `company.language` in the OpenAPI document, and a validation error
answered in Uzbek (the gateway's own checks: no service behind it is called)."""

from __future__ import annotations

import pytest

from crm_gateway.messages import ERRORS, FIELD_ERRORS

GOOD = {"company_name": "Acme", "first_name": "Aziz", "last_name": "Karimov", "email": "aziz@acme.uz",
        "password": "s3cret-pass"}


@pytest.fixture(scope="module")
def app(keys):
    from crm_gateway.app import create_app
    from crm_gateway.config import GatewaySettings

    return create_app(GatewaySettings(identity_addr="127.0.0.1:1", auth_public_key=keys["access_public"]))


@pytest.fixture(scope="module")
def document(app):
    from crm_gateway.openapi import build_document

    return build_document()


def _schema(document, ref: dict) -> dict:
    return document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_sign_up_declares_the_language_with_russian_as_default(document):
    op = document["paths"]["/api/v1/signup"]["post"]
    body = _schema(document, op["requestBody"]["content"]["application/json"]["schema"])
    language = body["properties"]["language"]
    assert language["enum"] == ["ru", "uz", "en"] and language["default"] == "ru"
    assert language["type"] == "string" and "language" not in body.get("required", [])
    assert "invalid_choice" in language["description"]
    assert op["requestBody"]["content"]["application/json"]["example"]["language"] == "ru"


@pytest.mark.parametrize("path,method", [("/api/v1/me", "get"), ("/api/v1/signup", "post")])
def test_the_company_answers_its_language(document, path, method):
    op = document["paths"][path][method]
    status = "201" if method == "post" else "200"
    answer = _schema(document, op["responses"][status]["content"]["application/json"]["schema"])
    company = _schema(document, answer["properties"]["company"])
    assert company["properties"]["language"]["enum"] == ["ru", "uz", "en"]
    assert "language" in company["required"]


@pytest.mark.parametrize("header", ["uz", "uz-UZ", "uz-Latn-UZ,ru;q=0.8"])
def test_a_validation_error_answers_in_uzbek(app, header):
    body = {**GOOD, "language": "de", "first_name": ""}
    resp = app.test_client().post("/api/v1/signup", json=body, headers={"Accept-Language": header})
    assert resp.status_code == 422 and resp.headers["Content-Language"] == "uz"
    error = resp.json["error"]
    assert error["code"] == "validation_failed"
    assert error["message"] == ERRORS["validation_failed"]["uz"] == "Ba’zi maydonlar noto‘g‘ri to‘ldirilgan."
    fields = {f["field"]: f for f in error["details"]["fields"]}
    assert fields["language"]["code"] == "invalid_choice"
    assert fields["language"]["message"] == FIELD_ERRORS["invalid_choice"]["uz"] == \
        "Ruxsat etilgan qiymatlardan birini tanlang."
    assert fields["first_name"]["code"] == "required"
    assert fields["first_name"]["message"] == "Bu maydon majburiy."


@pytest.mark.parametrize("header,lang", [("ru", "ru"), ("en", "en"), (None, "en")])
def test_the_same_error_in_the_other_languages(app, header, lang):
    resp = app.test_client().post("/api/v1/signup", json={**GOOD, "language": "uz-Cyrl"},
                                  headers={"Accept-Language": header} if header else {})
    assert resp.status_code == 422
    field = resp.json["error"]["details"]["fields"][0]
    assert (field["field"], field["code"]) == ("language", "invalid_choice")
    assert field["message"] == FIELD_ERRORS["invalid_choice"][lang]
