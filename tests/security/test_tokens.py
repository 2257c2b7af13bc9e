"""Tokens, passwords and reset: forged, misused, expired and replayed credentials are refused."""

from __future__ import annotations

import base64
import datetime as _dt
import json
import pathlib
import sqlite3
import statistics
import time
import uuid

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm.records.v1 import records_service_pb2 as rpb
from crm.records.v1 import records_service_pb2_grpc as rgrpc
from tests.support.crm import new_deal
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e


def _sign(key_pem: bytes, **claims) -> str:
    key = serialization.load_pem_private_key(key_pem, password=None)
    now = _dt.datetime.now(_dt.timezone.utc)
    base = {"iss": "crm-identity", "aud": "crm", "typ": "access", "iat": now, "nbf": now,
            "exp": now + _dt.timedelta(minutes=5), "perm": ["admin"], "sid": "", "jti": uuid.uuid4().hex}
    base.update(claims)
    return jwt.encode(base, key, algorithm="EdDSA")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_forged_misused_and_expired_tokens_are_401(system, api):
    a = sign_up(api)
    real = a["tokens"]["access_token"]
    claims = jwt.decode(real, options={"verify_signature": False})
    own_key = pathlib.Path(system.env["AUTH_PRIVATE_KEY"]).read_bytes()
    service_key = pathlib.Path(system.env["SERVICE_TOKEN_PRIVATE_KEY"]).read_bytes()
    stranger = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption())
    header, payload, signature = real.split(".")
    tampered = dict(claims, cid=str(uuid.uuid4()))
    bad = {
        "alg none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
        "wrong key": _sign(stranger, sub=claims["sub"], cid=claims["cid"], sid=claims["sid"]),
        "tampered claims": header + "." + _b64(tampered) + "." + signature,
        "expired": _sign(own_key, sub=claims["sub"], cid=claims["cid"], sid=claims["sid"],
                         iat=_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1),
                         nbf=_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1),
                         exp=_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(minutes=1)),
        "not yet valid": _sign(own_key, sub=claims["sub"], cid=claims["cid"], sid=claims["sid"],
                               nbf=_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(minutes=10)),
        "refresh token as access": a["tokens"]["refresh_token"],
        "service token at the gateway": _sign(service_key, typ="service", sub=claims["sub"], cid=claims["cid"]),
        "reset-purpose token": _sign(own_key, typ="reset", sub=claims["sub"], cid=claims["cid"]),
    }
    assert api.as_user(real).get("/api/v1/me").status_code == 200
    for name, token in bad.items():
        resp = api.as_user(token).get("/api/v1/me")
        assert resp.status_code == 401, f"{name}: {resp.status_code}"
        assert resp.json()["error"]["code"] in ("token_invalid", "token_expired"), name


def test_the_grpc_surface_checks_tokens_and_tenants_too(system, api):
    a, b = sign_up(api), sign_up(api)
    deal_b = new_deal(b["api"])
    channel = grpc.insecure_channel(system.env["RECORDS_GRPC_ADDR"])
    stub = rgrpc.RecordsServiceStub(channel)
    try:
        with pytest.raises(grpc.RpcError) as no_token:
            stub.GetDeal(rpb.GetDealRequest(id=deal_b["id"]), timeout=5)
        assert no_token.value.code() == grpc.StatusCode.UNAUTHENTICATED
        md = [("authorization", f"Bearer {a['tokens']['access_token']}")]
        with pytest.raises(grpc.RpcError) as other_company:
            stub.GetDeal(rpb.GetDealRequest(id=deal_b["id"]), timeout=5, metadata=md)
        assert other_company.value.code() == grpc.StatusCode.NOT_FOUND
        md_b = [("authorization", f"Bearer {b['tokens']['access_token']}")]
        assert stub.GetDeal(rpb.GetDealRequest(id=deal_b["id"]), timeout=5, metadata=md_b).deal.id == deal_b["id"]
        # a company id header from the caller is never trusted
        with pytest.raises(grpc.RpcError) as spoofed:
            stub.GetDeal(rpb.GetDealRequest(id=deal_b["id"]), timeout=5,
                         metadata=md + [("x-company-id", b["company"]["id"])])
        assert spoofed.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        channel.close()


def test_passwords_are_argon2id_with_at_least_owasp_parameters(system, api):
    a = sign_up(api)
    url = system.env["IDENTITY_DATABASE_URL"]
    with sqlite3.connect(url.split("///", 1)[1]) as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE id = ?", (a["user"]["id"],)).fetchone()[0]
    assert stored.startswith("$argon2id$")
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2 and int(params["p"]) >= 1


def test_forgot_answers_alike_for_known_and_unknown_emails(system, api):
    known = [sign_up(api)["user"]["email"] for _ in range(8)]
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    bodies = set()
    for round_ in range(2):  # per-account limit: a few requests per account and minute
        for email in known:
            for kind, address in (("known", email), ("unknown", unique_email("ghost"))):
                start = time.perf_counter()
                resp = api.post("/api/v1/auth/password/forgot", json={"email": address})
                timings[kind].append((time.perf_counter() - start) * 1000)
                assert resp.status_code == 202
                bodies.add(resp.text)
    assert len(bodies) == 1
    known_ms, unknown_ms = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    print(f"forgot median: known {known_ms:.1f} ms, unknown {unknown_ms:.1f} ms")
    # The answer does the same work for both (one queued row); only noise separates them.
    assert abs(known_ms - unknown_ms) < 15


def test_login_lockout_per_account_does_not_reveal_the_account(api):
    a = sign_up(api)
    email = a["user"]["email"]
    ghost = unique_email("ghost")
    real = [api.post("/api/v1/auth/login", json={"email": email, "password": "wrong"}).status_code
            for _ in range(12)]
    fake = [api.post("/api/v1/auth/login", json={"email": ghost, "password": "wrong"}).status_code
            for _ in range(12)]
    assert real == fake and 429 in real
