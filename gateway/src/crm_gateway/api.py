"""Declare operations once: the decorator validates requests with the same pydantic models the
OpenAPI document is generated from, so the document cannot drift from the code."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, g, request
from pydantic import BaseModel, ConfigDict, ValidationError

from crm_gateway.errors import ApiError
from crm_gateway.messages import FIELD_ERRORS


class Schema(BaseModel):
    """Base of request models: unknown fields are ignored, never applied."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


@dataclass
class Operation:
    """One documented HTTP operation."""

    method: str
    path: str  # OpenAPI style: /api/v1/users/{id}
    rule: str  # Flask style: /api/v1/users/<id>
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    permission: str | None = None  # the role permission the caller needs (admin holds all)
    errors: tuple[int, ...] = ()
    form: bool = False
    endpoint: str = ""
    description: str = ""
    example: dict | None = None
    extra_responses: dict = field(default_factory=dict)


OPERATIONS: list[Operation] = []

_PYDANTIC_CODES = {
    "missing": "required", "string_too_long": "too_long", "string_too_short": "too_short",
    "too_long": "too_many", "greater_than_equal": "too_small", "less_than_equal": "too_large",
    "greater_than": "too_small", "less_than": "too_large", "literal_error": "invalid_choice",
    "enum": "invalid_choice",
}
_PARAM_NAMES = {"max_length": "max", "min_length": "min", "ge": "min", "le": "max", "gt": "min", "lt": "max"}


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Translate pydantic errors into the api.md field error list."""
    out = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        code = _PYDANTIC_CODES.get(kind)
        if code is None and kind in FIELD_ERRORS:  # our own validators raise these codes
            code = kind
        if code is None:
            code = "invalid_type" if kind.endswith("_type") or kind.endswith("_parsing") else "invalid_value"
        if code == "too_short" and (err.get("ctx") or {}).get("min_length") == 1:
            code = "required"
        params = {_PARAM_NAMES.get(k, k): v for k, v in (err.get("ctx") or {}).items()
                  if k in _PARAM_NAMES}
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        out.append({"field": loc, "code": code, "params": params})
    return out


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", fields=field_errors(exc)) from exc


def _json_body() -> Any:
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json")
    return data


class Api:
    """Register documented, validated operations on a blueprint."""

    def __init__(self, blueprint: Blueprint, tag: str):
        self.bp = blueprint
        self.tag = tag

    def operation(self, method: str, path: str, summary: str, *, body=None, query=None, response=None,
                  status: int = 200, auth: bool = True, permission: str | None = None,
                  errors: tuple[int, ...] = (), form: bool = False,
                  description: str = "", example: dict | None = None,
                  extra_responses: dict | None = None) -> Callable:
        rule = re.sub(r"\{(\w+)\}", r"<\1>", path)

        def decorator(view: Callable) -> Callable:
            op = Operation(method=method, path=path, rule=rule, summary=summary, tag=self.tag, body=body,
                           query=query, response=response, status=status, auth=auth, permission=permission,
                           errors=tuple(errors) + ((403,) if permission else ()), form=form,
                           endpoint=f"{self.bp.name}.{view.__name__}", description=description, example=example,
                           extra_responses=extra_responses or {})
            OPERATIONS.append(op)

            @functools.wraps(view)
            def wrapper(**kwargs):
                if auth:
                    from crm_gateway.auth import authenticate, require
                    authenticate()
                    if permission:
                        require(permission)
                if body is not None:
                    data = request.form.to_dict() if form else _json_body()
                    if not isinstance(data, dict):
                        raise ApiError(422, "validation_failed",
                                       fields=[{"field": "body", "code": "invalid_type", "params": {}}])
                    kwargs["body"] = _validate(body, data)
                if query is not None:
                    kwargs["query"] = _validate(query, request.args.to_dict())
                g.operation = op
                return view(**kwargs)

            self.bp.add_url_rule(rule, view_func=wrapper, methods=[method])
            return wrapper

        return decorator
