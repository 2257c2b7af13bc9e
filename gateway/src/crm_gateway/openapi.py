"""Build the OpenAPI 3.1 document from the registered operations and their pydantic models."""

from __future__ import annotations

from pydantic.json_schema import models_json_schema

from crm_gateway.api import OPERATIONS
from crm_gateway.schemas import ErrorResponse

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Malformed request",
            401: "Not authenticated", 402: "Payment required", 403: "Forbidden", 404: "Not found",
            409: "Conflict", 413: "Body too large", 422: "Validation failed", 429: "Rate limited",
            503: "A service behind the gateway is unavailable"}


def _schemas() -> tuple[dict, dict]:
    """Every request and response model of every operation, each named by its class. Two models of one
    name are refused: a generated client names its classes by the schemas' titles, and drops both."""
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
    clashing = sorted(n for n in defs if "__" in n)  # pydantic qualifies clashing names with the module path
    if clashing:
        raise ValueError(f"request or response models share a name: {clashing}; name them after what they hold")
    titles = [d.get("title") for d in defs.values() if "title" in d]
    if len(titles) != len(set(titles)):
        raise ValueError(f"schema titles repeat: {sorted(t for t in titles if titles.count(t) > 1)}")
    return refs, defs


def build_document(version: str = "1.0.0") -> dict:
    """Return the OpenAPI 3.1 document of every registered operation."""
    refs, components = _schemas()
    error_ref = refs[(ErrorResponse, "serialization")]
    paths: dict = {}
    for op in OPERATIONS:
        item = paths.setdefault(op.path, {})
        params = [{"name": name, "in": "path", "required": True, "schema": {
            "type": "string", **({"pattern": f"^{op.id_pattern}$"} if name == "id" and op.id_pattern else {})}}
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
            entry["requestBody"] = {"required": op.body_required, "content": {media: content}}
            if not op.body_required:
                entry["requestBody"]["description"] = (
                    "May be empty: an empty body changes nothing." if op.method == "PATCH" else
                    "May be empty: a request without the protocol's parameters is answered in the protocol.")
        if op.auth:
            entry["security"] = [{"bearerAuth": []}]
        else:
            entry["security"] = []
        if op.produces:
            entry["responses"][str(op.status)] = {"description": _REASONS.get(op.status, "OK"), "content": {
                op.produces: {"schema": {"type": "string"}}}}
        elif op.status == 204 or op.response is None:
            entry["responses"][str(op.status)] = {"description": _REASONS.get(op.status, "OK")}
        else:
            entry["responses"][str(op.status)] = {"description": _REASONS.get(op.status, "OK"), "content": {
                "application/json": {"schema": refs[(op.response, "serialization")]}}}
        for code, model in op.extra_responses.items():
            entry["responses"][str(code)] = {"description": _REASONS.get(code, "OK"), "content": {
                "application/json": {"schema": refs[(model, "serialization")]}}}
        for status, codes in op.error_codes().items():
            listed = ", ".join(f"`{c}`" for c in codes)
            entry["responses"].setdefault(str(status), {
                "description": _REASONS.get(status, "Error") + (f". error.code: {listed}" if codes else ""),
                "x-error-codes": list(codes),
                "content": {"application/json": {"schema": error_ref}}})
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
