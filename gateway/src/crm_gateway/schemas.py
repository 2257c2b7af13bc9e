"""Request and response models shared by several blueprints (the OpenAPI document is built from these)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from crm_platform.db import RFC3339_PATTERN

_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def _check_email(value: str) -> str:
    if not _EMAIL.match(value.strip()):
        raise PydanticCustomError("invalid_email", "Enter a valid e-mail address.")
    return value


Email30 = Annotated[str, Field(min_length=1, max_length=30, json_schema_extra={"format": "email"}),
                    AfterValidator(_check_email)]


# A page cursor is opaque: base64url without padding (crm_platform.pagination). One the server did not
# write, or wrote for another list or order, is refused with 422 `invalid_cursor`.
#
# A rule a service enforces with its own code (records' `invalid_cursor`, `invalid_email`,
# `phone_digits_only` with the country's dialing code, pipeline's `invalid_key`) is stated in the
# document only (`json_schema_extra`): were the gateway to check the pattern too, it would answer a
# generic `invalid_value` first.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
Cursor = Annotated[str, Field(max_length=500, json_schema_extra={"pattern": CURSOR_PATTERN},
                              description="`next_cursor` of the previous page; empty for the first page. A cursor "
                                          "the server did not give for this list and order answers 422 "
                                          "`invalid_cursor`.")]


# An e-mail address as identity and records check it (surrounding spaces are dropped), or nothing.
EMAIL_OR_EMPTY = r"^ *([^@\s]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+)? *$"

# RFC 3339 with seconds and a zone, as every service reads it (crm_platform.db.parse_rfc3339, which answers
# `invalid_datetime` beside the request's other field errors).
DateTime = Annotated[str, Field(max_length=40, examples=["2026-12-01T09:00:00Z"],
                                json_schema_extra={"format": "date-time", "pattern": RFC3339_PATTERN},
                                description="RFC 3339 with a zone, e.g. 2026-12-01T09:00:00+05:00")]


class PhoneIn(BaseModel):
    """A phone as a person types it: the country and the national number."""

    model_config = ConfigDict(extra="ignore")
    country: str = Field(min_length=1, max_length=3, examples=["UZ"],
                         description="ISO 3166 code of a country GET /api/v1/countries lists")
    number: str = Field(max_length=17, json_schema_extra={"pattern": "^[0-9]*$"}, examples=["901234567"],
                        description="Digits only, without the country code; how many the country's numbers "
                                    "have is in GET /api/v1/countries (422 `phone_length` or `phone_invalid` "
                                    "otherwise)")


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field")
    code: str = Field(description="Stable snake_case code")
    message: str = Field(description="Text in the Accept-Language language")
    params: dict[str, Any] | None = None


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable snake_case code", examples=["validation_failed"])
    message: str = Field(description="Text in the Accept-Language language")
    details: dict[str, Any] = Field(default_factory=dict, description="fields: list of FieldError, and more")


class ErrorResponse(BaseModel):
    """Every non-2xx answer."""

    error: ErrorDetail


class Status(BaseModel):
    status: str
