"""The client address behind trusted proxies, and what a production gateway refuses to start without."""

from __future__ import annotations

import pytest

from crm_platform.config import ConfigError


def _app(keys, **overrides):
    from crm_gateway.app import create_app
    from crm_gateway.config import GatewaySettings

    return create_app(GatewaySettings(identity_addr="127.0.0.1:9", auth_public_key=keys["access_public"],
                                      rpc_timeout=0.2, connect_timeout=0.2, **overrides))


def _codes(client, forwarded_for: str, n: int) -> list[int]:
    return [client.get("/api/v1/me", headers={"X-Forwarded-For": forwarded_for},
                       environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code for _ in range(n)]


def test_two_clients_behind_one_trusted_proxy_are_limited_apart(keys):
    client = _app(keys, ip_per_minute=3, trusted_proxies=1).test_client()
    assert _codes(client, "203.0.113.7", 4) == [401, 401, 401, 429]
    assert _codes(client, "198.51.100.9", 3) == [401, 401, 401]  # the other client still has its own bucket
    # a client cannot pick its address: only the hop the proxy appended counts
    assert _codes(client, "1.2.3.4, 203.0.113.7", 1) == [429]


def test_without_trusted_proxies_the_forwarded_address_is_ignored(keys):
    client = _app(keys, ip_per_minute=3).test_client()
    assert _codes(client, "203.0.113.7", 3) == [401, 401, 401]
    assert _codes(client, "198.51.100.9", 1) == [429]  # the same peer, whatever the header says


def test_production_refuses_placeholders_development_secrets_and_a_gateway_without_redis(keys, monkeypatch):
    from crm_billing.config import BillingSettings
    from crm_gateway.app import create_app
    from crm_platform.config import load

    env = {"BILLING_DATABASE_URL": "sqlite://", "BILLING_GRPC_BIND": "127.0.0.1:0", "KAFKA_BOOTSTRAP_SERVERS": "x:1",
           "AUTH_PUBLIC_KEY": keys["access_public"], "CLICK_SECRET_KEY": "dev-click-secret",
           "CLICK_SERVICE_ID": "REPLACE_ME", "CLICK_MERCHANT_ID": "54321", "CLICK_MERCHANT_USER_ID": "777"}
    with pytest.raises(ConfigError) as refused:
        load(BillingSettings, "BILLING", env)
    assert "CLICK_SECRET_KEY holds a placeholder" in str(refused.value)
    assert "CLICK_SERVICE_ID holds a placeholder" in str(refused.value) and "dev-click-secret" not in str(refused.value)
    assert load(BillingSettings, "BILLING", {**env, "CRM_ENV": "development"}).click_service_id == "REPLACE_ME"

    for name, value in {"IDENTITY_GRPC_ADDR": "127.0.0.1:9", "AUTH_PUBLIC_KEY": keys["access_public"],
                        "REDIS_URL": ""}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CRM_ENV", raising=False)
    with pytest.raises(ConfigError, match="REDIS_URL is required"):
        create_app()
    monkeypatch.setenv("CRM_ENV", "development")
    assert create_app() is not None
