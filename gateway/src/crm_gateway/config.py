"""Gateway settings, read once from GATEWAY_* (and shared) environment variables."""

from __future__ import annotations

import dataclasses

from crm_platform.config import setting
from crm_platform.tls import Tls, tls_of, tls_problems


@dataclasses.dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    """What the gateway needs."""

    identity_addr: str = setting("IDENTITY_GRPC_ADDR", shared=True, doc="identity gRPC host:port")
    pipeline_addr: str = setting("PIPELINE_GRPC_ADDR", "", shared=True, doc="pipeline gRPC host:port")
    records_addr: str = setting("RECORDS_GRPC_ADDR", "", shared=True, doc="records gRPC host:port")
    automation_addr: str = setting("AUTOMATION_GRPC_ADDR", "", shared=True, doc="automation gRPC host:port")
    billing_addr: str = setting("BILLING_GRPC_ADDR", "", shared=True, doc="billing gRPC host:port")
    auth_public_key: str = setting("AUTH_PUBLIC_KEY", shared=True, doc="PEM or path: verifies access tokens")

    log_level: str = setting("LOG_LEVEL", "INFO", shared=True)
    redis_url: str = setting("REDIS_URL", "", shared=True, doc="share rate limits between replicas when set")
    rpc_timeout: float = setting("RPC_TIMEOUT_SECONDS", 2.0, float, doc="default deadline of a gRPC call")
    connect_timeout: float = setting("CONNECT_TIMEOUT_SECONDS", 1.5, float,
                                     doc="how long a call waits for a disconnected service before 503")
    max_body_bytes: int = setting("MAX_BODY_BYTES", 1_000_000, int)
    login_per_ip_per_minute: int = setting("LOGIN_PER_IP_PER_MINUTE", 30, int)
    login_per_account_per_minute: int = setting("LOGIN_PER_ACCOUNT_PER_MINUTE", 10, int)
    forgot_per_ip_per_minute: int = setting("FORGOT_PER_IP_PER_MINUTE", 10, int)
    forgot_per_account_per_minute: int = setting("FORGOT_PER_ACCOUNT_PER_MINUTE", 3, int)
    reset_per_ip_per_minute: int = setting("RESET_PER_IP_PER_MINUTE", 10, int)
    signup_per_ip_per_minute: int = setting("SIGNUP_PER_IP_PER_MINUTE", 5, int, doc="new companies per client IP")
    bulk_per_company_per_minute: int = setting("BULK_PER_COMPANY_PER_MINUTE", 30, int,
                                               doc="bulk responsible changes per company")
    ip_per_minute: int = setting("IP_PER_MINUTE", 1200, int, doc="every API request, per client IP")
    company_per_minute: int = setting("COMPANY_PER_MINUTE", 3000, int, doc="authenticated requests per company")
    session_check_seconds: float = setting("SESSION_CHECK_SECONDS", 1.0, float,
                                           doc="how long a live session is trusted before identity is asked again")
    refresh_cookie_secure: bool = setting("REFRESH_COOKIE_SECURE", True, bool,
                                          doc="mark the web UI's refresh-token cookie Secure (https only; browsers "
                                              "also keep it on http://localhost and 127.0.0.1)")
    refresh_cookie_days: int = setting("REFRESH_COOKIE_DAYS", 30, int,
                                       doc="lifetime of that cookie (identity's REFRESH_TOKEN_TTL_DAYS)")
    trusted_proxies: int = setting("TRUSTED_PROXIES", 0, int,
                                   doc="proxies in front of the gateway whose X-Forwarded-For/-Proto/-Host are "
                                       "believed (1 behind the k8s ingress): the client address limits key on")

    grpc_tls_ca: str = setting("GRPC_TLS_CA", "", shared=True,
                               doc="PEM file: the CA of gRPC mutual TLS (with GRPC_TLS_CERT/KEY; unset: plaintext)")
    grpc_tls_cert: str = setting("GRPC_TLS_CERT", "", doc="PEM file: the gateway's gRPC client certificate")
    grpc_tls_key: str = setting("GRPC_TLS_KEY", "", doc="PEM file: the private key of GRPC_TLS_CERT")

    def problems(self, environ, prefix: str = "") -> list[str]:
        """Checked by `config.load`: no plaintext gRPC outside loopback unless CRM_ENV=development."""
        return tls_problems(self, environ, prefix)

    def grpc_tls(self) -> Tls | None:
        """The gateway's gRPC mutual TLS (its channels to every service), or None (plaintext)."""
        return tls_of(self.grpc_tls_ca, self.grpc_tls_cert, self.grpc_tls_key)

    def service_addresses(self) -> dict[str, str]:
        """gRPC address of each backend (empty when not configured)."""
        return {"identity": self.identity_addr, "pipeline": self.pipeline_addr, "records": self.records_addr,
                "automation": self.automation_addr, "billing": self.billing_addr}
