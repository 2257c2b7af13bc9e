"""Tenants sealed off and roles enforced, for every operation the OpenAPI document lists.

For each operation that takes an id, company A asking for company B's object gets the same 404 as
for a missing one, and B's object is unchanged. No list or aggregate A reads contains B's ids. Ids
of B in A's request bodies are refused. Every operation marked with a permission answers 403 to a
user without it and changes nothing. Server-owned fields in bodies are never applied.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.security.world import FIELD_KINDS, example, operations, path_kind
from tests.support.system import Api

pytestmark = pytest.mark.e2e


def _call(client, method: str, path: str, body):
    if body is None:
        return client.request(method.upper(), path)
    return client.request(method.upper(), path, json=body)


def _body_for(doc, method, path, op, ids, client):
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    if method == "put" and "get" in doc["paths"].get(path, {}):
        # a PUT takes back what the GET gives (api.md): start from the actor's own document
        own = client.get(path.replace("{id}", ids[path_kind(path)]))
        assert own.status_code == 200, own.text
        return own.json()
    return example(content["application/json"]["schema"], doc, ids)


def _snapshot(client, path: str, object_id: str, doc) -> str | None:
    """B's view of its object (the GET of the same resource), to prove nothing changed."""
    base = path.split("/{id}")[0] + "/{id}"
    if "get" not in doc["paths"].get(base, {}):
        base = path if "get" in doc["paths"].get(path, {}) else None
    if base is None:
        return None
    resp = client.get(base.replace("{id}", object_id))
    return json.dumps(resp.json(), sort_keys=True) if resp.status_code == 200 else str(resp.status_code)


def test_another_companys_object_is_404_like_a_missing_one_and_unchanged(system, doc, companies):
    a, b = companies
    checked = []
    for method, path, op in operations(doc):
        if "{id}" not in path:
            continue
        kind = path_kind(path)
        body = _body_for(doc, method, path, op, a["ids"], a["admin"])
        before = _snapshot(b["admin"], path, b["ids"][kind], doc)
        foreign = _call(a["admin"], method, path.replace("{id}", b["ids"][kind]), body)
        missing = _call(a["admin"], method, path.replace("{id}", str(uuid.uuid4())), body)
        assert foreign.status_code == 404, f"{method.upper()} {path}: {foreign.status_code} {foreign.text}"
        assert missing.status_code == 404, f"{method.upper()} {path} (missing id): {missing.text}"
        assert foreign.json()["error"]["code"] == missing.json()["error"]["code"], f"{method.upper()} {path}"
        assert _snapshot(b["admin"], path, b["ids"][kind], doc) == before, f"{method.upper()} {path} changed B"
        checked.append(f"{method.upper()} {path}")
    assert len(checked) >= 20, checked


def test_no_list_or_aggregate_shows_another_companys_data(system, doc, companies):
    a, b = companies
    secrets = {v for k, v in b["ids"].items()}
    read = []
    for method, path, op in operations(doc):
        if method != "get" or "{" in path:
            continue
        query = ""
        if path.endswith("/board"):
            query = f"?funnel_id={a['ids']['funnel']}"
        text = a["admin"].get(path + query).text
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"GET {path} shows company B's {leaked}"
        read.append(path)
        for name, kind in FIELD_KINDS.items():  # filtering by B's ids never reveals B's rows
            param = next((p for p in op.get("parameters", []) if p["name"] == name and p["in"] == "query"), None)
            if param is None:
                continue
            resp = a["admin"].get(f"{path}?{name}={b['ids'][kind]}")
            assert resp.status_code in (200, 404, 422), f"GET {path}?{name}=: {resp.status_code}"
            assert not [s for s in secrets if s in resp.text], f"GET {path}?{name}= shows company B's data"
    assert {"/api/v1/deals", "/api/v1/clients", "/api/v1/tasks", "/api/v1/users"} <= set(read)


def test_ids_of_another_company_in_bodies_are_refused(system, doc, companies):
    a, b = companies
    tried = []
    for method, path, op in operations(doc):
        if method not in ("post", "patch", "put"):
            continue
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        target = path.replace("{id}", a["ids"][path_kind(path)]) if "{id}" in path else path
        base = _body_for(doc, method, path, op, a["ids"], a["admin"])
        props = _properties(schema, doc)
        for name in props:
            kind = FIELD_KINDS.get(name) or ("deal" if name == "ids" and "/deals" in path else
                                             "client" if name == "ids" and "/clients" in path else None)
            if kind is None:
                continue
            body = dict(base or {})
            body[name] = [b["ids"][kind]] if name == "ids" else b["ids"][kind]
            if name == "ids":
                body.setdefault("responsible_id", a["ids"]["user"])
            resp = _call(a["admin"], method, target, body)
            assert resp.status_code in (404, 422), f"{method.upper()} {path} with B's {name}: {resp.status_code} " \
                                                   f"{resp.text}"
            tried.append(f"{method.upper()} {path} {name}")
    assert len(tried) >= 10, tried


def _properties(schema: dict, doc: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema.get("properties", {})


def test_permission_operations_are_403_for_a_user_without_the_right(system, doc, companies):
    a, _ = companies
    denied = []
    for method, path, op in operations(doc):
        permission = op.get("x-permission")
        if not permission:
            continue
        body = _body_for(doc, method, path, op, a["ids"], a["admin"])
        target = path.replace("{id}", a["ids"][path_kind(path)]) if "{id}" in path else path
        before = _snapshot(a["admin"], path, a["ids"][path_kind(path)], doc) if "{id}" in path else None
        resp = _call(a["manager"], method, target, body)
        assert resp.status_code == 403, f"{method.upper()} {path} as a manager: {resp.status_code} {resp.text}"
        assert resp.json()["error"]["details"].get("permission") == permission
        if before is not None:
            assert _snapshot(a["admin"], path, a["ids"][path_kind(path)], doc) == before
        denied.append(f"{method.upper()} {path}")
    # the FAQ's admin-only actions are all among them
    for needed in ("POST /api/v1/users", "PUT /api/v1/funnels/{id}", "POST /api/v1/processes",
                   "POST /api/v1/deals/{id}/restore", "PATCH /api/v1/roles/{id}", "POST /api/v1/billing/orders"):
        assert needed in denied, f"{needed} is not marked admin-only"


SERVER_OWNED = {"company_id": "00000000-0000-0000-0000-000000000000", "crm_id": "HACKHACK", "is_admin": True,
                "deleted_at": "2020-01-01T00:00:00Z", "deleted": True, "created_by": "intruder",
                "author_id": "intruder", "created_at": "2000-01-01T00:00:00Z", "version": 999999}


def test_server_owned_fields_in_bodies_are_never_applied(system, doc, companies):
    a, b = companies
    created = 0
    for method, path, op in operations(doc):
        if method != "post" or "{" in path or op.get("responses", {}).get("201") is None:
            continue
        body = _body_for(doc, method, path, op, a["ids"], a["admin"])
        resp = a["admin"].post(path, json={**(body or {}), **SERVER_OWNED})
        assert resp.status_code < 500, f"POST {path}: {resp.text}"
        if resp.status_code != 201:
            continue
        out = resp.json()
        for key, value in SERVER_OWNED.items():
            assert out.get(key) != value, f"POST {path} applied {key}"
        if "id" in out and "get" in doc["paths"].get(path + "/{id}", {}):
            assert a["admin"].get(f"{path}/{out['id']}").status_code == 200  # it is A's
            assert b["admin"].get(f"{path}/{out['id']}").status_code == 404
        created += 1
    assert created >= 5
    me = a["admin"].get("/api/v1/me").json()
    assert me["company"]["crm_id"] == a["ids"]["crm_id"]
