"""Gateway plumbing end to end: request ids, errors, health, metrics, the OpenAPI document."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_request_id_is_echoed_or_made(api):
    resp = api.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    assert len(api.get("/healthz").headers["X-Request-ID"]) >= 16


def test_health_readiness_and_metrics(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["services"].values()) == {"serving"}
    api.get("/api/v1/me")
    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert "crm_http_requests_total" in metrics.text


def test_malformed_json_is_400_and_wrong_shape_is_422(api):
    bad = api.request("POST", "/api/v1/auth/login", data="{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_json"
    shape = api.post("/api/v1/auth/login", json=[1, 2])
    assert shape.status_code == 422


def test_unknown_path_is_404_in_the_error_format(api):
    resp = api.get("/api/v1/nothing-here", headers={"Accept-Language": "ru"})
    assert resp.status_code == 404
    assert resp.json()["error"] == {"code": "not_found", "message": "Не найдено.", "details": {}}


def test_an_undeclared_method_is_405_naming_the_allowed_ones(api):
    resp = api.request("TRACE", "/api/v1/deals")
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}
    assert "TRACE" not in resp.headers["Allow"]


def test_openapi_document_covers_every_route(api, system):
    doc = api.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    for method, path in [("POST", "/api/v1/signup"), ("POST", "/api/v1/auth/login"), ("GET", "/api/v1/me"),
                         ("POST", "/api/v1/users"), ("PATCH", "/api/v1/roles/{id}")]:
        assert (method, path) in documented
    assert "bearerAuth" in doc["components"]["securitySchemes"]
    assert api.get("/api/docs").status_code == 200


def test_idempotency_key_replays_the_first_answer(api):
    from tests.support.system import sign_up

    a = sign_up(api)
    body = {"name": "Once"}
    first = a["api"].post("/api/v1/groups", json=body, headers={"Idempotency-Key": "k-1"})
    again = a["api"].post("/api/v1/groups", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    names = [g["name"] for g in a["api"].get("/api/v1/groups").json()["items"]]
    assert names.count("Once") == 1
    other = a["api"].post("/api/v1/groups", json={"name": "Other"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    # the same key in another company is another key
    b = sign_up(api)
    assert b["api"].post("/api/v1/groups", json=body, headers={"Idempotency-Key": "k-1"}).status_code == 201
