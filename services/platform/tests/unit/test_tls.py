"""The gRPC transport settings (`crm_platform.tls`): what `config.load` refuses, read from the environment."""

from __future__ import annotations

import pytest

from crm_platform.config import ConfigError, load
from crm_platform.runtime import ServiceSettings
from crm_platform.tls import is_loopback

BASE = {"SVC_DATABASE_URL": "sqlite://", "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "AUTH_PUBLIC_KEY": "k"}


@pytest.mark.parametrize("address, loopback", [("127.0.0.1:50051", True), ("127.0.0.2:1", True),
                                               ("localhost:1", True), ("[::1]:1", True), ("0.0.0.0:50051", False),
                                               ("records-api:50051", False), ("10.0.0.1:1", False)])
def test_loopback(address, loopback):
    assert is_loopback(address) is loopback


def test_plaintext_on_loopback_is_fine_everywhere():
    settings = load(ServiceSettings, "SVC", {**BASE, "SVC_GRPC_BIND": "127.0.0.1:50051"})
    assert settings.grpc_tls() is None


def test_plaintext_outside_loopback_needs_development():
    env = {**BASE, "SVC_GRPC_BIND": "0.0.0.0:50051"}
    with pytest.raises(ConfigError, match="SVC_GRPC_BIND=0.0.0.0:50051 is outside loopback but gRPC has no TLS"):
        load(ServiceSettings, "SVC", env)
    assert load(ServiceSettings, "SVC", {**env, "CRM_ENV": "development"}).grpc_tls() is None


def test_all_three_files_or_none(tmp_path):
    for name in ("ca.crt", "tls.crt", "tls.key"):
        (tmp_path / name).write_text("x")
    env = {**BASE, "SVC_GRPC_BIND": "0.0.0.0:50051", "GRPC_TLS_CA": str(tmp_path / "ca.crt")}
    with pytest.raises(ConfigError, match="SVC_GRPC_TLS_CERT, SVC_GRPC_TLS_KEY must be set with GRPC_TLS_CA"):
        load(ServiceSettings, "SVC", env)
    with pytest.raises(ConfigError, match="no such file"):
        load(ServiceSettings, "SVC", {**env, "SVC_GRPC_TLS_CERT": str(tmp_path / "tls.crt"),
                                      "SVC_GRPC_TLS_KEY": str(tmp_path / "missing.key")})
    settings = load(ServiceSettings, "SVC", {**env, "SVC_GRPC_TLS_CERT": str(tmp_path / "tls.crt"),
                                             "SVC_GRPC_TLS_KEY": str(tmp_path / "tls.key")})
    assert settings.grpc_tls().cert == b"x"
