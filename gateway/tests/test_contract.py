"""The gateway's contract checks that need no running services."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

from crm_gateway.api import OPERATIONS
from crm_gateway.messages import ERRORS, FIELD_ERRORS, LANGUAGES, error_text, pick_language

ROOT = pathlib.Path(__file__).resolve().parents[2]
ERROR_CLASSES = {"AppError", "InvalidArgument", "NotFound", "Conflict", "FailedPrecondition", "PermissionDenied",
                 "Unauthenticated", "RateLimited", "ApiError"}


@pytest.fixture(scope="module")
def app(keys):
    from crm_gateway.app import create_app
    from crm_gateway.config import GatewaySettings

    return create_app(GatewaySettings(identity_addr="127.0.0.1:1", auth_public_key=keys["access_public"]))


def test_every_route_is_in_the_openapi_document(app):
    from crm_gateway.openapi import build_document

    doc = build_document()
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("web."):
            continue  # the web UI's pages and assets are not part of the API
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {path} is served but not documented"
    assert len(OPERATIONS) == len(documented)


def _codes_in_source() -> set[str]:
    """Every error code passed to an error class anywhere in the services and the gateway."""
    codes = set()
    for path in [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("gateway/src/**/*.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                args = node.args
                if name == "ApiError" and len(args) >= 2:
                    args = args[1:]
                if name in ERROR_CLASSES and args and isinstance(args[0], ast.Constant) \
                        and isinstance(args[0].value, str):
                    codes.add(args[0].value)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add" and len(node.args) >= 2 \
                    and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                codes.add("field:" + node.args[1].value)
    return codes


def test_every_error_code_has_a_text_in_every_language():
    codes = _codes_in_source()
    assert "email_taken" in codes and "field:too_long" in codes  # the scan works
    missing = []
    for code in sorted(codes):
        table, key = (FIELD_ERRORS, code[6:]) if code.startswith("field:") else (ERRORS, code)
        if key not in table:
            missing.append(code)
            continue
        missing += [f"{code}/{lang}" for lang in LANGUAGES if not table[key].get(lang)]
    assert not missing, f"codes without texts: {missing}"


def test_accept_language_picks_the_best_supported():
    assert pick_language("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert pick_language("de, en;q=0.5") == "en"
    assert pick_language("en;q=0.4, ru;q=0.6") == "ru"
    assert pick_language(None) == "en"
    assert error_text("rate_limited", "ru", {"retry_after": 3}) == "Слишком много запросов. Повторите через 3 с."


def test_the_document_states_each_operations_error_codes(app):
    from crm_gateway.openapi import build_document

    doc = build_document()
    deals = doc["paths"]["/api/v1/deals"]["get"]
    assert deals["responses"]["422"]["x-error-codes"] == ["validation_failed", "invalid_cursor"]
    cursor = next(p for p in deals["parameters"] if p["name"] == "cursor")["schema"]
    assert cursor["pattern"] == "^[A-Za-z0-9_-]*$" and cursor["maxLength"] == 500
    patch = doc["paths"]["/api/v1/deals/{id}"]["patch"]
    assert patch["requestBody"]["required"] is False and "empty body changes nothing" in patch["requestBody"]["description"]
    assert set(patch["responses"]["409"]["x-error-codes"]) == {"record_deleted", "idempotency_in_progress"}
    assert patch["responses"]["404"]["x-error-codes"] == ["not_found", "deal_not_found"]
    assert "402" in patch["responses"] and "402" not in doc["paths"]["/api/v1/billing/orders"]["post"]["responses"]
    assert doc["paths"]["/api/v1/signup"]["post"]["requestBody"]["required"] is True
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, answer in op["responses"].items():
                if int(status) >= 400 and path != "/readyz":  # its 503 is the readiness report
                    assert answer["x-error-codes"], f"{method} {path} {status} names no error code"
                    assert all(c in ERRORS for c in answer["x-error-codes"]), f"{method} {path} {status}"


def test_a_literal_path_is_not_taken_for_a_records_id(app):
    client = app.test_client()
    allow = client.options("/api/v1/deals/responsible").headers["Allow"]
    assert set(allow.split(", ")) == {"POST", "OPTIONS"}
    allow = client.options("/api/v1/deals/0b0e6a2c-6f0a-4d7e-9a57-1a2b3c4d5e6f").headers["Allow"]
    assert {"GET", "PATCH", "DELETE"} <= set(allow.split(", "))


def test_texts_are_refused_with_nul_characters_or_blank_where_required():
    from crm_gateway.api import _validate
    from crm_gateway.blueprints.records_schemas import DealIn, DealPatch
    from crm_gateway.errors import ApiError

    def refusal(model, data):
        with pytest.raises(ApiError) as caught:
            _validate(model, data, strict=True)
        return [(f["field"], f["code"]) for f in caught.value.details["fields"]]

    assert refusal(DealIn, {"title": "a\x00b"}) == [("title", "invalid_value")]
    assert refusal(DealIn, {"title": " \t\u3000"}) == [("title", "required")]
    assert refusal(DealIn, {"title": "x", "fields": {"note": ["ok", "b\x00"]}}) == [("fields.note.1", "invalid_value")]
    assert refusal(DealPatch, {"title": "  "}) == [("title", "required")]
    assert refusal(DealIn, {"title": "x", "amount": "1e3"}) == [("amount", "invalid_amount")]
    assert refusal(DealIn, {"title": "x", "amount": True}) == [("amount", "invalid_type")]
    assert refusal(DealIn, {"title": "x", "amount": "-5"}) == [("amount", "too_small")]
    assert refusal(DealIn, {"title": "x", "amount": "1.001"}) == [("amount", "too_many_decimals")]
    assert refusal(DealIn, {"title": "x", "amount": 10 ** 16}) == [("amount", "too_large")]
    assert _validate(DealPatch, {"comment": None}, strict=True).title is None
    assert _validate(DealIn, {"title": " Laptops ", "amount": "1 500,50"}, strict=True).amount == "1 500,50"
