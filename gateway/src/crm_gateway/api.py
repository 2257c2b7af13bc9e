"""Declare operations once: the decorator validates requests with the same pydantic models the
OpenAPI document is generated from, so the document cannot drift from the code."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, g, request
from pydantic import BaseModel, ConfigDict, ValidationError
from werkzeug.routing import BaseConverter

from crm_gateway.errors import ApiError
from crm_gateway.messages import FIELD_ERRORS


# No service can store a NUL character in a text (PostgreSQL refuses them): every text a request carries
# says so in the document and is refused with `invalid_value`. The services trim texts (str.strip), so a
# text that must not be empty must hold something besides whitespace (else `required`); Python's
# whitespace is spelt out, as JSON Schema's \s differs from it.
NO_NUL = "^[^\\u0000]*$"
_BLANK = "\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_BLANK}][^\\u0000]*$"


def _no_nul_in_schema(schema: dict, _cls=None) -> None:
    for prop in schema.get("properties", {}).values():
        for sub in (prop, prop.get("items") or {}, *prop.get("anyOf", ())):
            if sub.get("type") == "string" and not {"pattern", "enum", "const", "format"} & sub.keys():
                sub["pattern"] = NOT_BLANK if sub.get("minLength", 0) >= 1 else NO_NUL


def _min_length(info) -> int:
    return max((getattr(m, "min_length", 0) for m in info.metadata), default=0)


class Schema(BaseModel):
    """Base of request models: unknown fields are ignored, never applied."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, json_schema_extra=_no_nul_in_schema)


def _text_errors(value: Any, path: str = "") -> list[dict]:
    """The field errors of the texts in a validated request: a NUL character anywhere (`invalid_value`),
    only whitespace where a text is required (`required`)."""
    def error(at: str, code: str) -> list[dict]:
        return [{"field": at or "body", "code": code, "params": {}}]

    def under(name: str) -> str:
        return f"{path}.{name}" if path else name

    if isinstance(value, str):
        return error(path, "invalid_value") if "\x00" in value else []
    if isinstance(value, BaseModel):
        out = []
        for name, info in type(value).model_fields.items():
            item = getattr(value, name)
            if isinstance(item, str) and _min_length(info) >= 1 and not item.strip():
                out += error(under(name), "required")
            else:
                out += _text_errors(item, under(name))
        return out
    if isinstance(value, dict):
        if any("\x00" in str(k) for k in value):
            return error(path, "invalid_value")
        return [e for k, v in value.items() for e in _text_errors(v, under(str(k)))]
    if isinstance(value, (list, tuple)):
        return [e for i, v in enumerate(value) for e in _text_errors(v, under(str(i)))]
    return []


def _integral_floats_as_int(value: Any) -> Any:
    """JSON has one number type: 17.0 is the integer 17 (as JSON Schema says), whatever the sender wrote."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 63:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_int(v) for v in value]
    return value


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
    codes: dict = field(default_factory=dict)  # status -> the error codes this operation adds to GENERIC_CODES
    body_required: bool = True
    id_pattern: str = ""  # the regex an `{id}` path parameter matches (else any segment)
    produces: str = ""  # a media type other than JSON the success answers in (e.g. text/csv), as a string

    def error_codes(self) -> dict[int, tuple[str, ...]]:
        """Every error status this operation can answer, with the error codes each status carries."""
        statuses = set(self.errors) | set(self.codes) | {429, 503}
        if self.body is not None or self.query is not None:
            statuses |= {400, 413, 422}
        if self.auth:
            statuses |= {401}
        if "{" in self.path:
            statuses |= {404}
        if self.method in WRITE_METHODS:
            statuses |= {400, 409, 422}  # a malformed, busy or reused Idempotency-Key
            if self.path.startswith("/api/v1/") and not self.path.startswith(PAYMENT_EXEMPT_PREFIXES):
                statuses |= {402}  # the company's prepaid period ended (billing.require_paid_subscription)
        if self.query is not None and "cursor" in self.query.model_fields:
            statuses |= {422}
        out = {}
        for status in sorted(statuses):
            codes = list(GENERIC_CODES.get(status, ()))
            if status == 401 and not self.auth:
                codes = []
            if status == 422 and self.query is not None and "cursor" in self.query.model_fields:
                codes.append("invalid_cursor")
            if self.method in WRITE_METHODS:  # an Idempotency-Key still in use, or reused for another request
                codes += {409: ["idempotency_in_progress"], 422: ["idempotency_key_reused"]}.get(status, [])
            codes += [c for c in self.codes.get(status, ()) if c not in codes]
            out[status] = tuple(codes)
        return out


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writes a company whose prepaid period ended may still make: sign-up, log-in, paying, CLICK's callbacks.
PAYMENT_EXEMPT_PREFIXES = ("/api/v1/signup", "/api/v1/auth/", "/api/v1/billing", "/api/v1/payments/")
# The codes any operation can answer with a status, whatever it does (the gateway's own checks).
GENERIC_CODES: dict[int, tuple[str, ...]] = {
    400: ("invalid_json", "bad_request"),
    401: ("unauthenticated", "token_invalid", "token_expired", "session_ended", "rights_changed"),
    402: ("payment_required",), 403: ("forbidden",), 404: ("not_found",), 413: ("body_too_large",),
    422: ("validation_failed",), 429: ("rate_limited",), 503: ("service_unavailable",)}

OPERATIONS: list[Operation] = []
BY_ENDPOINT: dict[str, Operation] = {}

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


def _validate(model: type[BaseModel], data: Any, strict: bool = False) -> BaseModel:
    """Validate `data`; JSON bodies strictly (a boolean is true or false, a number is not a string), as
    their schema says; query strings and forms are text, so they are converted."""
    try:
        validated = model.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", fields=field_errors(exc)) from exc
    bad = _text_errors(validated)
    if bad:
        raise ApiError(422, "validation_failed", fields=bad)
    return validated


def _json_body() -> Any:
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json")
    return _integral_floats_as_int(data)


class RecordId(BaseConverter):
    """A path segment that can be a record's id (a UUID's hex digits and dashes). `/api/v1/deals/responsible`
    is then its own resource, not a deal called "responsible" (whose GET, PATCH and DELETE its Allow header
    listed)."""

    regex = "[0-9A-Fa-f-]{1,64}"


ID_CONVERTERS = {"record_id": RecordId}


class Api:
    """Register documented, validated operations on a blueprint; `ids` names the converter of its `{id}`
    path parameters (an entry of ID_CONVERTERS, registered on the app)."""

    def __init__(self, blueprint: Blueprint, tag: str, ids: str | None = None):
        self.bp = blueprint
        self.tag = tag
        self.ids = ids

    def operation(self, method: str, path: str, summary: str, *, body=None, query=None, response=None,
                  status: int = 200, auth: bool = True, permission: str | None = None,
                  errors: tuple[int, ...] = (), form: bool = False,
                  description: str = "", example: dict | None = None,
                  extra_responses: dict | None = None, codes: dict | None = None,
                  body_required: bool | None = None, produces: str = "") -> Callable:
        """Register a view. `codes` names the error codes per status the view's backends answer beyond
        GENERIC_CODES; `body_required` False says an empty body is accepted (PATCH: "no change")."""
        rule = re.sub(r"\{(\w+)\}", lambda m: f"<{self.ids}:id>" if self.ids and m[1] == "id" else f"<{m[1]}>", path)

        def decorator(view: Callable) -> Callable:
            op = Operation(method=method, path=path, rule=rule, summary=summary, tag=self.tag, body=body,
                           query=query, response=response, status=status, auth=auth, permission=permission,
                           errors=tuple(errors) + ((403,) if permission else ()), form=form,
                           endpoint=f"{self.bp.name}.{view.__name__}", description=description, example=example,
                           extra_responses=extra_responses or {}, codes=dict(codes or {}),
                           body_required=(method != "PATCH") if body_required is None else body_required,
                           id_pattern=ID_CONVERTERS[self.ids].regex if self.ids else "", produces=produces)
            OPERATIONS.append(op)
            BY_ENDPOINT[op.endpoint] = op

            @functools.wraps(view)
            def wrapper(**kwargs):
                g.operation = op
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
                    kwargs["body"] = _validate(body, data, strict=not form)
                if query is not None:
                    kwargs["query"] = _validate(query, request.args.to_dict())
                return view(**kwargs)

            self.bp.add_url_rule(rule, view_func=wrapper, methods=[method])
            return wrapper

        return decorator
