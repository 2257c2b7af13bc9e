"""Schemathesis hooks of the fuzz pass (SCHEMATHESIS_HOOKS=tests.fuzz.hooks).

`positive_data_acceptance` (in `--checks all`) wants every request the document calls valid accepted.
Some refusals depend on data no schema can hold: the company's own objects, the server's own cursors and
tokens, a country's numbering plan. schemathesis.toml lets that check expect 422, and this check narrows
it back: a schema-valid request may be refused only with one of the codes below, each for its reason;
any other refusal (a limit, a pattern, an enum the document should have said) fails the run.
"""

from __future__ import annotations

import schemathesis

# (field or "" for error.code) -> codes: why the document cannot say it in a schema.
DATA_DEPENDENT: dict[str, dict[str, str]] = {
    "": {"invalid_cursor": "a cursor is one the server wrote; any string of its alphabet may be one it did not",
         "reset_token_invalid": "a reset token is one identity issued and did not yet use",
         "invalid_period": "a report period's start after its end: a relation of two parameters",
         "period_too_long": "a report period over three years: a relation of two parameters"},
    "*": {"unknown_reference": "an id must name an object of the caller's company",
          "unknown_field": "custom field keys are the company's own",
          "password_common": "identity's list of common passwords",
          "record_deleted": "an id naming a record the company deleted (the state of its data)",
          "phone_length": "a country's numbering plan (GET /api/v1/countries)",
          "phone_invalid": "a country's numbering plan (GET /api/v1/countries)",
          "too_many_decimals": "a binary float's decimals (JSON Schema's multipleOf misjudges them)",
          "key_reserved": "a built-in field's key",
          "not_allowed": "a field another field's value rules out (a stage only for stage_changed)",
          "invalid_groups": "the four fixed groups, each once, in their order",
          "invalid_time_zone": "the zones of identity's time zone database (its tzdata release)",
          "invalid_move_target": "a stage of the same funnel that is not removed too",
          "phone_country_unknown": "the countries phonenumbers knows (GET /api/v1/countries)"},
    "options": {"required": "select and multiselect fields need options, other types none"},
    "type": {"invalid_choice": "task types are the company's own (GET /api/v1/task-types)"},
    "task_type": {"invalid_choice": "task types are the company's own (GET /api/v1/task-types)"},
}


def _refusals(body) -> list[tuple[str, str]]:
    error = (body or {}).get("error") or {}
    fields = (error.get("details") or {}).get("fields")
    if error.get("code") == "validation_failed" and isinstance(fields, list):
        return [(f.get("field", ""), f.get("code", "")) for f in fields]
    return [("", error.get("code", ""))]


def _explained(field: str, code: str) -> bool:
    if not field:
        return code in DATA_DEPENDENT[""]
    if field == "fields" or field.startswith("fields."):
        return True  # a custom field's value: its type, options and rules are the company's (GET /api/v1/fields)
    return code in DATA_DEPENDENT.get(field.rsplit(".", 1)[-1], {}) or code in DATA_DEPENDENT["*"]


@schemathesis.check
def refused_only_for_data(ctx, response, case):
    """A schema-valid request answered 422 names only data-dependent refusals."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        body = response.json()
    except ValueError:
        raise AssertionError("422 without a JSON error body")
    unexplained = [f"{field or 'error.code'}: {code}" for field, code in _refusals(body) if not _explained(field, code)]
    if unexplained:
        raise AssertionError("A schema-valid request was refused for a reason the document could state: "
                             + ", ".join(unexplained))
    return None
