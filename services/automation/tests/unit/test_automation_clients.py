"""What a failed call to records means for automation (`adapters.clients.records_error`), and the request a
task becomes. The RpcError here is a stand-in with the three methods the mapping reads."""

from __future__ import annotations

import datetime as _dt
import json

import grpc
import pytest

from crm_automation.adapters.clients import (RecordsError, RecordsUnavailable, TaskRefused, records_error, refusal,
                                             task_request)
from crm_automation.domain.model import NewTask
from crm_platform.errors import ERROR_METADATA_KEY
from crm_platform.messaging import Retryable


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str = "", body: dict | None = None):
        self._code, self._details = code, details
        self._trailer = ((ERROR_METADATA_KEY, json.dumps(body).encode()),) if body else ()

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailer


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                  grpc.StatusCode.RESOURCE_EXHAUSTED])
def test_records_not_answering_is_retried_never_a_refusal(code):
    error = records_error(FakeRpcError(code, "connection refused"))
    assert isinstance(error, RecordsUnavailable) and isinstance(error, Retryable)
    assert str(error) == f"records: {code.name}"  # what the consumer logs while it waits


@pytest.mark.parametrize("code", [grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT,
                                  grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND,
                                  grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN])
def test_any_other_answer_is_a_final_refusal(code):
    error = records_error(FakeRpcError(code, "no"))
    assert isinstance(error, TaskRefused) and isinstance(error, RecordsError)
    assert not isinstance(error, Retryable)


def test_a_refusal_says_records_error_code_and_its_details_else_its_message():
    body = {"code": "responsible_inactive", "message": "The user is deactivated", "details": {"user": "u1"}}
    assert records_error(FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "x", body)).reason == \
        "responsible_inactive: {'user': 'u1'}"
    no_details = {"code": "responsible_inactive", "message": "The user is deactivated", "details": {}}
    assert records_error(FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "x", no_details)).reason == \
        "responsible_inactive: The user is deactivated"


def test_a_refusal_without_records_error_body_names_the_status_and_its_text():
    error = records_error(FakeRpcError(grpc.StatusCode.INTERNAL, "internal error"))
    assert error.reason == "INTERNAL: internal error" and str(error) == error.reason


def test_a_batch_result_refusal_reads_the_same_body():
    assert refusal({"code": "validation_failed", "message": "Validation failed", "details": None}) == \
        "validation_failed: Validation failed"
    assert refusal(None, "ABORTED", "stopping") == "ABORTED: stopping"


def test_a_task_becomes_records_request_with_an_rfc3339_due_time():
    task = NewTask(process_id="p1", type="call", comment="Call", responsible_id="u1", deal_id="", client_id="c1",
                   due_at=_dt.datetime(2026, 3, 11, 18, 59, 59, tzinfo=_dt.timezone.utc), idempotency_key="process:p1:e1")
    req = task_request(task)
    assert (req.type, req.comment, req.responsible_id, req.deal_id, req.client_id, req.process_id) == \
        ("call", "Call", "u1", "", "c1", "p1")
    assert req.due_at == "2026-03-11T18:59:59Z" and req.idempotency_key == "process:p1:e1"
