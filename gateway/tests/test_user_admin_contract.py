"""User administration in the OpenAPI document: reactivation declared exactly (permission, answers, error codes),
groups and roles in use declared with their 409 codes, and those codes' texts naming the number of users."""

from __future__ import annotations

import pytest

from crm_gateway.messages import LANGUAGES, error_text


@pytest.fixture(scope="module")
def doc(keys):
    from crm_gateway.app import create_app
    from crm_gateway.config import GatewaySettings
    from crm_gateway.openapi import build_document

    create_app(GatewaySettings(identity_addr="127.0.0.1:1", auth_public_key=keys["access_public"]))
    return build_document()


def test_reactivation_is_declared_exactly(doc):
    item = doc["paths"]["/api/v1/users/{id}/activate"]
    assert set(item) == {"post"}
    op = item["post"]
    assert op["x-permission"] == "manage_users"
    assert "requestBody" not in op
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/UserOut"}
    assert op["responses"]["403"]["x-error-codes"] == ["forbidden"]
    assert op["responses"]["404"]["x-error-codes"] == ["not_found", "user_not_found"]
    assert "active_users" in op["description"] and "only an administrator reactivates" in op["description"]


def test_groups_and_roles_in_use_are_declared_with_their_codes(doc):
    group = doc["paths"]["/api/v1/groups/{id}"]["delete"]["responses"]["409"]["x-error-codes"]
    role = doc["paths"]["/api/v1/roles/{id}"]["delete"]["responses"]["409"]["x-error-codes"]
    assert "group_not_empty" in group and {"role_in_use", "role_protected"} <= set(role)
    assert doc["paths"]["/api/v1/groups/{id}"]["patch"]["responses"]["404"]["x-error-codes"] == [
        "not_found", "group_not_found"]


@pytest.mark.parametrize("code", ["group_not_empty", "role_in_use"])
def test_in_use_texts_name_the_number_of_users(code):
    for lang in LANGUAGES:
        assert "7" in error_text(code, lang, {"users": 7}), (code, lang)
