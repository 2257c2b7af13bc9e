"""The note text's contract: 1 to 4,000 characters once trimmed (as records trims), stated in the document
by a pattern that accepts exactly what the gateway accepts."""

from __future__ import annotations

import re

import pytest

from crm_gateway.api import _validate
from crm_gateway.blueprints.records_schemas import NOTE_MAX, NOTE_PATTERN, NoteIn, NotePatch
from crm_gateway.errors import ApiError

TEXTS = ["a", " a ", "\u3000x\u00a0", "a" * NOTE_MAX, " \n" + "я" * NOTE_MAX + "\t ", "a\nb",
         "", " ", "\t\n\u2028", "a" * (NOTE_MAX + 1), " " + "b" * (NOTE_MAX + 1) + " ", "a\x00b"]


def _refusal(model, text):
    try:
        _validate(model, {"text": text}, strict=True)
    except ApiError as exc:
        return [(f["field"], f["code"], f["params"]) for f in exc.details["fields"]]
    return []


@pytest.mark.parametrize("text", TEXTS)
def test_the_documented_pattern_accepts_what_the_gateway_accepts(text):
    for model in (NoteIn, NotePatch):
        assert (not _refusal(model, text)) == bool(re.search(NOTE_PATTERN, text)), repr(text[:10])


def test_a_refused_text_says_why():
    assert _refusal(NoteIn, "  \t") == [("text", "required", {})]
    assert _refusal(NoteIn, "x" * (NOTE_MAX + 1)) == [("text", "too_long", {"max": NOTE_MAX})]
    assert _refusal(NoteIn, "a\x00b") == [("text", "invalid_value", {})]
    assert _refusal(NoteIn, " " + "x" * NOTE_MAX + " ") == []  # 4,000 once trimmed
    with pytest.raises(ApiError) as caught:
        _validate(NotePatch, {}, strict=True)
    assert caught.value.details["fields"][0]["code"] == "required"
