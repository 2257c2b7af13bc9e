"""The gateway's app factory: settings, middleware, blueprints, error handlers."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import Flask, g, request
from prometheus_client import Counter, Histogram
from werkzeug.middleware.proxy_fix import ProxyFix

from crm_gateway import errors
from crm_gateway.blueprints import automation, billing, identity, ops, pipeline, records, reports, web
from crm_gateway.api import ID_CONVERTERS
from crm_gateway.auth import SessionCache
from crm_gateway.clients import Backends
from crm_gateway.errors import ApiError
from crm_gateway.config import GatewaySettings
from crm_gateway.ratelimit import RateLimiter
from crm_platform.auth import TokenVerifier, read_key
from crm_platform.config import ConfigError, is_development, load
from crm_platform.context import new_request_id, request_id_var
from crm_platform.logs import setup_logging
from crm_platform.rpc import configure_tls

log = logging.getLogger("crm_gateway.access")

HTTP_REQUESTS = Counter("crm_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
HTTP_LATENCY = Histogram("crm_http_request_seconds", "HTTP request time", ["method", "endpoint"])
BLUEPRINTS = (ops.bp, identity.bp, billing.bp, pipeline.bp, records.bp, reports.bp, automation.bp, web.bp)


@dataclass
class Extension:
    settings: GatewaySettings
    verifier: TokenVerifier
    backends: Backends
    limiter: RateLimiter
    metrics_registry: object
    sessions: SessionCache
    openapi: dict | None = None


def create_app(settings: GatewaySettings | None = None) -> Flask:
    """Build the gateway application."""
    if settings is None:
        settings = load(GatewaySettings, prefix="GATEWAY")
        if not settings.redis_url and not is_development():
            # each worker would count alone: limits multiplied by workers and replicas, lockouts per process
            raise ConfigError("GatewaySettings: REDIS_URL is required outside CRM_ENV=development "
                              "(rate limits are shared through it)")
    setup_logging("gateway", settings.log_level)
    configure_tls(settings.grpc_tls())  # the channels to every service (crm_platform.rpc.make_channel)
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    if settings.trusted_proxies > 0:  # request.remote_addr becomes the client's, as the proxies saw it
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["crm"] = Extension(settings=settings, verifier=TokenVerifier(read_key(settings.auth_public_key)),
                                      backends=Backends(settings.service_addresses()), limiter=RateLimiter(settings.redis_url),
                                      metrics_registry=ops.metrics_registry(),
                                      sessions=SessionCache(settings.session_check_seconds))
    app.url_map.converters.update(ID_CONVERTERS)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    errors.register(app)

    @app.before_request
    def _begin():
        rid = request.headers.get("X-Request-ID", "")
        if not rid or len(rid) > 128 or not rid.isprintable():
            rid = new_request_id()
        g.request_id = rid
        g.started = time.perf_counter()
        request_id_var.set(rid)
        if request.path.startswith("/api/"):
            ext = app.extensions["crm"]
            ext.limiter.hit(f"ip:{request.remote_addr}", ext.settings.ip_per_minute)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= 200 and key.isprintable()):
            raise ApiError(400, "bad_request", field="Idempotency-Key")

    app.before_request(billing.require_paid_subscription)  # 402 once the prepaid period ended

    @app.after_request
    def _end(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        HTTP_REQUESTS.labels(request.method, endpoint, response.status_code).inc()
        HTTP_LATENCY.labels(request.method, endpoint).observe(elapsed)
        principal = g.get("principal")
        log.info("%s %s %s", request.method, endpoint, response.status_code,
                 extra={"status": response.status_code, "duration_ms": round(elapsed * 1000, 2),
                        "company_id": principal.company_id if principal else None})
        return response

    return app
