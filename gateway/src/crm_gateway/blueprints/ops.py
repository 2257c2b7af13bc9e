"""Operations: liveness, readiness, metrics, the OpenAPI document and its browsable page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from crm_gateway import clients
from crm_gateway.api import Api
from crm_gateway.openapi import build_document

bp = Blueprint("ops", __name__)
api = Api(bp, "operations")
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    services: dict[str, str]


@api.operation("GET", "/healthz", "The gateway process is up", response=Health, auth=False)
def healthz():
    return jsonify({"status": "ok"})


@api.operation("GET", "/readyz", "Every service the gateway needs answers its gRPC health check", response=Ready,
               auth=False, extra_responses={503: Ready})
def readyz():
    stubs = clients.health_stubs()
    results = dict(zip(stubs, _pool.map(clients.health_check, stubs.values())))
    ok = all(results.values())
    body = {"status": "ready" if ok else "not_ready",
            "services": {n: "serving" if v else "not_serving" for n, v in results.items()}}
    return jsonify(body), 200 if ok else 503


@api.operation("GET", "/metrics", "Prometheus metrics (text format)", auth=False)
def metrics():
    registry = current_app.extensions["crm"].metrics_registry
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@api.operation("GET", "/api/openapi.json", "This API's OpenAPI 3.1 document", auth=False)
def openapi():
    ext = current_app.extensions["crm"]
    if ext.openapi is None:
        ext.openapi = build_document()
    return jsonify(ext.openapi)


@api.operation("GET", "/api/docs", "Browsable API documentation", auth=False)
def docs():
    return current_app.send_static_file("docs.html")


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: all workers' metrics when running under gunicorn with a multiprocess dir."""
    import os

    from prometheus_client import REGISTRY, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY
