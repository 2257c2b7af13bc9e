"""Application errors: a stable snake_case code, a gRPC status and details; texts live in the gateway."""

from __future__ import annotations

import json
from typing import Any

import grpc

ERROR_METADATA_KEY = "crm-error-bin"


class AppError(Exception):
    """A failure the caller should see: `code` is stable, `details` explain it."""

    status = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, code: str, message: str = "", **details: Any):
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.details = details

    def body(self) -> dict[str, Any]:
        """The error as the caller reads it: code, message, details."""
        return {"code": self.code, "message": self.message, "details": self.details}

    def to_metadata(self) -> tuple[tuple[str, bytes], ...]:
        """Encode the error for gRPC trailing metadata."""
        return ((ERROR_METADATA_KEY, json.dumps(self.body(), default=str).encode()),)


class InvalidArgument(AppError):
    """The request is well-formed but its values are not acceptable (HTTP 422)."""

    status = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(AppError):
    """The object does not exist in the caller's company (HTTP 404)."""

    status = grpc.StatusCode.NOT_FOUND


class Conflict(AppError):
    """A duplicate or a stale version (HTTP 409)."""

    status = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(AppError):
    """The object is in a state that forbids the change (HTTP 409 or per code)."""

    status = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(AppError):
    """The caller's role lacks the right (HTTP 403)."""

    status = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(AppError):
    """No valid credentials (HTTP 401)."""

    status = grpc.StatusCode.UNAUTHENTICATED


class RateLimited(AppError):
    """Too many attempts (HTTP 429)."""

    status = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(AppError):
    """Something this service depends on is down (HTTP 503)."""

    status = grpc.StatusCode.UNAVAILABLE


class FieldErrors(InvalidArgument):
    """Validation failed on named fields; `fields` is a list of {field, code, params}."""

    def __init__(self, fields: list[dict[str, Any]]):
        super().__init__("validation_failed", "Validation failed", fields=fields)
        self.fields = fields


class FieldCollector:
    """Collect field errors, then raise them all at once."""

    def __init__(self) -> None:
        self.fields: list[dict[str, Any]] = []

    def add(self, field: str, code: str, **params: Any) -> None:
        """Record that `field` failed with `code`."""
        self.fields.append({"field": field, "code": code, "params": params})

    def text(self, field: str, value: str | None, *, max_len: int, required: bool = True, strip: bool = True) -> str:
        """A text field (trimmed unless `strip` is False): `required` when empty, `too_long` past `max_len`."""
        text = value or ""
        if strip:
            text = text.strip()
        if not text:
            if required:
                self.add(field, "required")
        elif len(text) > max_len:
            self.add(field, "too_long", max=max_len)
        return text

    def raise_if_any(self) -> None:
        """Raise FieldErrors when anything was recorded."""
        if self.fields:
            raise FieldErrors(self.fields)


def decode_error(metadata) -> dict[str, Any] | None:
    """Read an AppError back from gRPC trailing metadata (None when absent)."""
    for key, value in metadata or ():
        if key == ERROR_METADATA_KEY:
            try:
                return json.loads(value)
            except ValueError:
                return None
    return None
