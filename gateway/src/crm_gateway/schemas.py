"""Request and response models shared by several blueprints (the OpenAPI document is built from these)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def _check_email(value: str) -> str:
    if not _EMAIL.match(value.strip()):
        raise PydanticCustomError("invalid_email", "Enter a valid e-mail address.")
    return value


Email30 = Annotated[str, Field(min_length=1, max_length=30, json_schema_extra={"format": "email"}),
                    AfterValidator(_check_email)]


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
