"""Rate limits per IP and per account, in memory and shared through Redis."""

from __future__ import annotations

import uuid

import pytest

from crm_gateway.errors import ApiError
from crm_gateway.ratelimit import RateLimiter


def _app(keys, **overrides):
    from crm_gateway.app import create_app
    from crm_gateway.config import GatewaySettings

    # identity at an address where nothing listens: calls that pass the limiter answer 503 quickly
    settings = GatewaySettings(identity_addr="127.0.0.1:9", auth_public_key=keys["access_public"], rpc_timeout=0.2,
                               connect_timeout=0.2,
                               **overrides)
    return create_app(settings)


@pytest.mark.parametrize("path,body,limit", [
    ("/api/v1/auth/password/reset", {"token": "t", "password": "pass-1234"}, "reset_per_ip_per_minute"),
    ("/api/v1/auth/login", {"email": "a@b.uz", "password": "p"}, "login_per_ip_per_minute"),
    ("/api/v1/auth/password/forgot", {"email": "a@b.uz"}, "forgot_per_ip_per_minute"),
    ("/api/v1/signup", {"company_name": "Co", "first_name": "A", "last_name": "B", "email": "a@b.uz",
                        "password": "pass-1234"}, "signup_per_ip_per_minute"),
])
def test_per_ip_limits_answer_429_with_retry_after(keys, path, body, limit):
    app = _app(keys, **{limit: 3, "login_per_account_per_minute": 100, "forgot_per_account_per_minute": 100})
    client = app.test_client()
    codes = [client.post(path, json={**body, "email": f"{uuid.uuid4().hex[:6]}@b.uz"} if "email" in body else body,
                         environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code for _ in range(5)]
    assert codes[:3] == [503, 503, 503] and codes[3:] == [429, 429]
    limited = client.post(path, json=body, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.get_json()["error"]["code"] == "rate_limited"
    # another address has its own bucket
    assert client.post(path, json=body, environ_base={"REMOTE_ADDR": "10.1.1.2"}).status_code == 503


def test_redis_buckets_are_shared_between_replicas():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(socket_timeout=0.5).ping()
    except redis.RedisError:
        pytest.fail("Redis is expected at 127.0.0.1:6379 on this machine")
    key = f"test:{uuid.uuid4().hex}"
    first, second = RateLimiter("redis://127.0.0.1:6379/0"), RateLimiter("redis://127.0.0.1:6379/0")
    first.hit(key, 2)
    second.hit(key, 2)
    with pytest.raises(ApiError) as info:
        first.hit(key, 2)
    assert info.value.status == 429


@pytest.mark.parametrize("path", ["/api/v1/deals/responsible", "/api/v1/clients/responsible"])
def test_bulk_changes_have_a_per_company_limit_of_their_own(keys, path):
    import datetime as _dt

    from crm_platform.auth import ACCESS, TokenSigner, read_key

    app = _app(keys, bulk_per_company_per_minute=2, records_addr="127.0.0.1:9")
    client = app.test_client()
    signer = TokenSigner(read_key(keys["access_private"]))

    def token(company: str) -> dict:
        t = signer.sign(typ=ACCESS, company_id=company, user_id=str(uuid.uuid4()), ttl=_dt.timedelta(minutes=5),
                        permissions=["admin"])
        return {"Authorization": f"Bearer {t}"}

    body = {"ids": [str(uuid.uuid4())], "responsible_id": str(uuid.uuid4())}
    one, other = token(str(uuid.uuid4())), token(str(uuid.uuid4()))
    codes = [client.post(path, json=body, headers=one).status_code for _ in range(3)]
    assert codes == [503, 503, 429]  # records is not there: the first two reach it, the third is limited
    assert client.post(path, json=body, headers=other).status_code == 503  # another company has its own
    assert client.get("/api/v1/deals", headers=one).status_code == 503  # only bulk changes are limited
