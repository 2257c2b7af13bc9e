"""The one place where failures become HTTP: gRPC status -> HTTP status, and the api.md error body."""

from __future__ import annotations

import logging

import grpc
from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from crm_gateway.messages import error_text, field_text, pick_language
from crm_platform.errors import decode_error

log = logging.getLogger(__name__)

GRPC_TO_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
    grpc.StatusCode.CANCELLED: 503,
}
# Codes whose HTTP status differs from their gRPC status family.
CODE_TO_HTTP = {"payment_required": 402}


class ApiError(Exception):
    """An error raised by the gateway itself."""

    def __init__(self, status: int, code: str, headers: dict | None = None, **details):
        super().__init__(code)
        self.status = status
        self.code = code
        self.details = details
        self.headers = headers or {}


def language() -> str:
    """The response language chosen from Accept-Language (cached per request)."""
    if "lang" not in g:
        g.lang = pick_language(request.headers.get("Accept-Language"))
    return g.lang


def error_response(status: int, code: str, details: dict | None = None, headers: dict | None = None):
    """Build the api.md error body with texts in the request's language."""
    lang = language()
    details = dict(details or {})
    if isinstance(details.get("fields"), list):
        details["fields"] = [{"field": f["field"], "code": f["code"],
                              "message": field_text(f["code"], lang, f.get("params")),
                              **({"params": f["params"]} if f.get("params") else {})}
                             for f in details["fields"]]
    _check_declared(status, code)
    resp = jsonify({"error": {"code": code, "message": error_text(code, lang, details), "details": details}})
    resp.status_code = status
    resp.headers["Content-Language"] = lang
    for k, v in (headers or {}).items():
        resp.headers[k] = str(v)
    return resp


def _check_declared(status: int, code: str) -> None:
    """Log an answer the OpenAPI document does not declare for its operation (the fuzz pass fails on it)."""
    from crm_gateway.api import BY_ENDPOINT

    op = BY_ENDPOINT.get(request.url_rule.endpoint) if request.url_rule is not None else None
    if op is None or status >= 500 and status != 503:
        return
    if code not in op.error_codes().get(status, ()):
        log.warning("undeclared error: %s %s answered %s %s", op.method, op.path, status, code,
                    extra={"undeclared_error": f"{op.method} {op.path} {status} {code}"})


def from_rpc_error(exc: grpc.RpcError):
    """Translate a failed gRPC call into the HTTP answer."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    body = decode_error(exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None)
    if body:
        status = CODE_TO_HTTP.get(body["code"], GRPC_TO_HTTP.get(code, 500))
        retry = (body.get("details") or {}).get("retry_after") if status == 429 else None
        return error_response(status, body["code"], body.get("details"),
                              headers={"Retry-After": retry} if retry else None)
    status = GRPC_TO_HTTP.get(code)
    if status == 503:
        log.warning("backend unavailable: %s %s", code, exc.details() if hasattr(exc, "details") else "")
        return error_response(503, "service_unavailable", headers={"Retry-After": 1})
    log.error("unexpected backend error %s: %s", code, exc.details() if hasattr(exc, "details") else exc)
    return error_response(500, "internal")


def register(app: Flask) -> None:
    """Install the error handlers on the app."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.details, exc.headers)

    @app.errorhandler(grpc.RpcError)
    def _rpc_error(exc: grpc.RpcError):
        return from_rpc_error(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.code, "bad_request")
        allowed = getattr(exc, "valid_methods", None)  # a 405 names the methods the path has (RFC 9110 15.5.6)
        return error_response(exc.code or 400, code, headers={"Allow": ", ".join(allowed)} if allowed else None)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal")
