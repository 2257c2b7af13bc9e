"""The whole system for end-to-end tests, started from the Procfile as `make run` does."""

from __future__ import annotations

import json
import pathlib
import sys
import uuid

import requests

from tests.support.infra import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import stack as stack_mod  # noqa: E402


def start_system(tmp: pathlib.Path, extra_env: dict[str, str] | None = None,
                 database_urls: dict[str, str] | None = None):
    """Start every Procfile process on free ports with data under `tmp`; return the ready Stack."""
    ports = stack_mod.free_ports()
    env = stack_mod.environment(tmp, ports=ports, database_urls=database_urls, extra={
        # Generous per-IP limits: every test client is 127.0.0.1. Per-account limits stay as shipped.
        "GATEWAY_LOGIN_PER_IP_PER_MINUTE": "100000", "GATEWAY_SIGNUP_PER_IP_PER_MINUTE": "100000",
        "GATEWAY_FORGOT_PER_IP_PER_MINUTE": "100000", "GATEWAY_RESET_PER_IP_PER_MINUTE": "100000",
        "GATEWAY_IP_PER_MINUTE": "1000000",
        # identity's own per-caller limits: the gateway and every test's direct call come from 127.0.0.1 too
        "IDENTITY_LOGIN_PER_CALLER_PER_MINUTE": "100000", "IDENTITY_FORGOT_PER_CALLER_PER_MINUTE": "100000",
        "IDENTITY_RESET_PER_CALLER_PER_MINUTE": "100000",
        **(extra_env or {})})
    system = stack_mod.Stack(env, log_dir=tmp / "log")
    system.start_all()
    try:
        system.wait_ready(60)
    except Exception:
        system.stop_all()
        raise
    return system


def undeclared_errors(log: pathlib.Path) -> dict[str, int]:
    """The answers a gateway logged as not declared by the OpenAPI document ("METHOD path status code" ->
    how many times; crm_gateway.errors._check_declared)."""
    found: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines() if log.exists() else ():
        if "undeclared_error" in line:
            key = json.loads(line)["undeclared_error"]
            found[key] = found.get(key, 0) + 1
    return found


class Api:
    """A small HTTP client for the gateway that remembers a bearer token."""

    def __init__(self, base: str, token: str | None = None, lang: str = "en"):
        self.base = base
        self.token = token
        self.lang = lang
        self.http = requests.Session()

    def headers(self, extra: dict | None = None) -> dict:
        h = {"Accept-Language": self.lang}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def request(self, method: str, path: str, json=None, headers: dict | None = None, **kw) -> requests.Response:
        return self.http.request(method, self.base + path, json=json, headers=self.headers(headers), timeout=15, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def as_user(self, token: str) -> "Api":
        return Api(self.base, token, self.lang)


def unique_email(prefix: str = "u") -> str:
    """An e-mail of at most 30 characters that no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}@t.uz"


def sign_up(api: Api, **overrides) -> dict:
    """Sign a new company up; return the answer with an `api` logged in as its admin."""
    body = {"company_name": f"Co {uuid.uuid4().hex[:6]}", "first_name": "Aziz", "last_name": "Karimov",
            "email": unique_email("admin"), "password": "pass-1234"}
    body.update(overrides)
    resp = api.post("/api/v1/signup", json=body)
    assert resp.status_code == 201, resp.text
    data = resp.json()
    data["api"] = api.as_user(data["tokens"]["access_token"])
    data["password"] = body["password"]
    return data
