"""The gateway's contract checks that need no running services."""

from __future__ import annotations

import ast
import pathlib

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
        path = rule.rule.replace("<", "{").replace(">", "}")
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
