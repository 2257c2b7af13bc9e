"""Build the OpenAPI 3.1 document from the registered operations and their pydantic models."""

from __future__ import annotations

import json

from pydantic.json_schema import models_json_schema

from crm_gateway.api import OPERATIONS
from crm_gateway.schemas import ErrorResponse

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Malformed request",
            401: "Not authenticated", 402: "Payment required", 403: "Forbidden", 404: "Not found",
            409: "Conflict", 413: "Body too large", 422: "Validation failed", 429: "Rate limited",
            503: "A service behind the gateway is unavailable"}


def _schemas() -> tuple[dict, dict]:
    """Every request and response model of every operation, named once (same-named models of
    different blueprints get distinct component names)."""
    pairs = [(ErrorResponse, "serialization")]
    for op in OPERATIONS:
        if op.body is not None:
            pairs.append((op.body, "validation"))
        if op.response is not None:
            pairs.append((op.response, "serialization"))
        pairs += [(m, "serialization") for m in op.extra_responses.values()]
    pairs = list(dict.fromkeys(pairs))
    refs, top = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    defs = top.get("$defs", {})
    # pydantic qualifies clashing names with the module path; keep them readable: IdentityGroupOut
    renames = {n: n.split("__")[-2].title().replace("_", "") + n.split("__")[-1] for n in defs if "__" in n}
    if renames:
        text = json.dumps([{f"{m.__module__}.{m.__qualname__}|{mode}": r for (m, mode), r in refs.items()}, defs])
        for old, new in renames.items():
            text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
        by_name, defs = json.loads(text)
        refs = {key: by_name[f"{key[0].__module__}.{key[0].__qualname__}|{key[1]}"] for key in refs}
        defs = {renames.get(n, n): v for n, v in defs.items()}
    return refs, defs


def build_document(version: str = "1.0.0") -> dict:
    """Return the OpenAPI 3.1 document of every registered operation."""
    refs, components = _schemas()
    error_ref = refs[(ErrorResponse, "serialization")]
    paths: dict = {}
    for op in OPERATIONS:
        item = paths.setdefault(op.path, {})
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _path_params(op.path)]
        if op.query is not None:
            qs = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in qs.pop("$defs", {}).items():
                components.setdefault(name, sub)
            for name, prop in qs.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in qs.get("required", []),
                               "schema": prop, **({"description": prop["description"]}
                                                  if "description" in prop else {})})
        params.append({"name": "Accept-Language", "in": "header", "required": False,
                       "schema": {"type": "string", "example": "ru"},
                       "description": "Language of error messages (en, ru, uz)."})
        entry: dict = {"operationId": op.endpoint.replace(".", "_"), "summary": op.summary, "tags": [op.tag],
                       "parameters": params, "responses": {}}
        if op.description:
            entry["description"] = op.description
        if op.permission:
            entry["x-permission"] = op.permission
            entry["description"] = (entry.get("description", "") + f"\n\nRequires the role permission "
                                    f"`{op.permission}` (administrators hold every permission).").strip()
        if op.body is not None:
            media = "application/x-www-form-urlencoded" if op.form else "application/json"
            content: dict = {"schema": refs[(op.body, "validation")]}
            if op.example:
                content["example"] = op.example
            entry["requestBody"] = {"required": True, "content": {media: content}}
        if op.auth:
            entry["security"] = [{"bearerAuth": []}]
        else:
            entry["security"] = []
        if op.status == 204 or op.response is None:
            entry["responses"][str(op.status)] = {"description": _REASONS.get(op.status, "OK")}
        else:
            entry["responses"][str(op.status)] = {"description": _REASONS.get(op.status, "OK"), "content": {
                "application/json": {"schema": refs[(op.response, "serialization")]}}}
        for code, model in op.extra_responses.items():
            entry["responses"][str(code)] = {"description": _REASONS.get(code, "OK"), "content": {
                "application/json": {"schema": refs[(model, "serialization")]}}}
        statuses = set(op.errors) | {503}
        if op.body is not None or op.query is not None:
            statuses |= {400, 413, 422}
        if op.auth:
            statuses |= {401}
        if params and any(p["in"] == "path" for p in params):
            statuses |= {404}
        statuses |= {429}
        for code in sorted(statuses):
            entry["responses"].setdefault(str(code), {"description": _REASONS.get(code, "Error"), "content": {
                "application/json": {"schema": error_ref}}})
        item[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "CRM API", "version": version,
                 "description": "The public HTTP API of the CRM. Errors follow one format; messages follow "
                                "Accept-Language (en, ru, uz)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _path_params(path: str) -> list[str]:
    import re

    return re.findall(r"\{(\w+)\}", path)
