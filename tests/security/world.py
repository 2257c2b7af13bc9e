"""Two companies full of objects, and request bodies generated from the OpenAPI document.

The security suites iterate over the document's operations, so an endpoint added later is covered
without a new test: its path must name a resource kind known here (or the suite fails and says so),
and its body is generated from its schema with ids taken from the acting company's own objects.
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
import uuid

from tests.support.crm import create_process, funnel, new_deal, new_manager, stages
from tests.support.infra import wait_for
from tests.support.system import sign_up

# Path segment before {id} -> the kind of object the id names.
PATH_KINDS = {"users": "user", "groups": "group", "roles": "role", "funnels": "funnel", "stages": "stage",
              "fields": "field", "clients": "client", "deals": "deal", "tasks": "task", "processes": "process",
              "orders": "order", "notes": "note"}
# Body property -> the kind of object it names.
FIELD_KINDS = {"client_id": "client", "deal_id": "deal", "responsible_id": "user", "stage_id": "stage",
               "role_id": "role", "group_id": "group", "funnel_id": "funnel", "target_stage_id": "stage"}


def path_kind(path: str) -> str:
    """The kind of object a path's {id} names, e.g. /api/v1/deals/{id}/history -> deal."""
    segment = re.search(r"/([a-z_-]+)/\{id\}", path).group(1)
    if segment not in PATH_KINDS:
        raise AssertionError(f"{path}: unknown resource '{segment}'; add it to tests/security/world.py")
    return PATH_KINDS[segment]


def build_company(api) -> dict:
    """A company with one object of every kind; returns ids by kind plus API clients."""
    a = sign_up(api)
    admin = a["api"]
    manager_id, manager = new_manager(api, admin)
    deal_funnel = funnel(admin, "deal")
    stage_ids = [s["id"] for s in stages(deal_funnel)]
    client = admin.post("/api/v1/clients", json={"name": "Client of " + a["company"]["name"]}).json()
    deal = new_deal(admin, client_id=client["id"])
    task = admin.post("/api/v1/tasks", json={"type": "call", "comment": "c", "deal_id": deal["id"],
                                            "due_at": (_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=1))
                                            .strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert task.status_code == 201, task.text
    note = admin.post(f"/api/v1/deals/{deal['id']}/notes", json={"text": "Note of " + a["company"]["name"]})
    assert note.status_code == 201, note.text
    group = admin.post("/api/v1/groups", json={"name": "G"}).json()
    role = admin.post("/api/v1/roles", json={"name": "R", "permissions": {}}).json()
    field = admin.post("/api/v1/fields", json={"entity": "deal", "key": f"f{uuid.uuid4().hex[:6]}", "name": "F",
                                               "type": "text"})
    assert field.status_code == 201, field.text
    process = create_process(admin, trigger={"event": "deal.created"}, assignee="author", enabled=False)
    order = admin.post("/api/v1/billing/orders", json={"seats": 2, "months": 1})
    assert order.status_code == 201, order.text
    ids = {"company": a["company"]["id"], "crm_id": a["company"]["crm_id"], "user": manager_id,
           "admin": a["user"]["id"], "group": group["id"], "role": role["id"], "funnel": deal_funnel["id"],
           "stage": stage_ids[0], "field": field.json()["id"], "client": client["id"], "deal": deal["id"],
           "task": task.json()["id"], "process": process["id"], "order": order.json()["id"],
           "note": note.json()["id"]}
    return {"admin": admin, "manager": manager, "ids": ids, "signup": a}


# ---- bodies from schemas ----------------------------------------------------------------------
def _resolve(schema: dict, doc: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        schema = {**schema, **_resolve(options[0], doc)} if options else schema
        schema.pop("anyOf", None)
    return schema


# Free-text properties whose values must be meaningful.
NAME_VALUES = {"type": "call", "key": lambda: f"k{uuid.uuid4().hex[:8]}", "color": "#112233", "country": "UZ",
               "number": "901234567"}


def example(schema: dict, doc: dict, ids: dict, name: str = "") -> object:
    """A small valid value for `schema`: required properties only, ids from `ids`."""
    schema = _resolve(schema, doc)
    if name in FIELD_KINDS:
        return ids[FIELD_KINDS[name]]
    if name in NAME_VALUES and "enum" not in schema and schema.get("type") == "string":
        value = NAME_VALUES[name]
        return value() if callable(value) else value
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema["default"] is not None and schema.get("type") != "object":
        return copy.deepcopy(schema["default"])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example(v, doc, ids, k) for k, v in props.items() if k in schema.get("required", [])}
    if kind == "array":
        n = schema.get("minItems", 0)
        return [example(schema.get("items", {}), doc, ids, name) for _ in range(n)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "email" or name == "email":
        return f"x{uuid.uuid4().hex[:8]}@t.uz"
    if schema.get("format") == "date-time" or name.endswith("_at"):
        return (_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "x" * max(1, min(schema.get("minLength", 1), 8))


def request_body(doc: dict, op: dict, ids: dict, admin, path: str) -> dict | None:
    """A valid body for an operation: the GET document for PUT, else one generated from the schema."""
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    if op.get("_method") == "put" and "get" in doc["paths"].get(path, {}):
        return None  # filled by the caller from the GET document
    return example(content["application/json"]["schema"], doc, ids)


def operations(doc: dict):
    """(method, path, operation) of every authenticated API operation."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if op.get("security") and path.startswith("/api/v1/"):
                yield method, path, op


def wait_indexed(admin, path: str, object_id: str) -> None:
    """Some lists are fed by events; wait until an object shows up."""
    wait_for(lambda: object_id in admin.get(path).text, timeout=20, message=f"{object_id} in {path}")
