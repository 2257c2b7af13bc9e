"""Identity settings, read once from IDENTITY_* (and shared) environment variables."""

import dataclasses

from crm_platform.config import setting
from crm_platform.runtime import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class IdentitySettings(ServiceSettings):
    """What the identity processes need."""

    auth_private_key: str = setting("AUTH_PRIVATE_KEY", shared=True, secret=True,
                                    doc="PEM or path: signs access tokens")
    access_ttl_seconds: int = setting("ACCESS_TOKEN_TTL_SECONDS", 900, int)
    refresh_ttl_days: int = setting("REFRESH_TOKEN_TTL_DAYS", 30, int)
    reset_ttl_seconds: int = setting("RESET_TOKEN_TTL_SECONDS", 3600, int)
    public_url: str = setting("PUBLIC_URL", "http://127.0.0.1:8080", shared=True,
                              doc="web UI base URL used in e-mailed links")
    smtp_host: str = setting("SMTP_HOST", "127.0.0.1", shared=True)
    smtp_port: int = setting("SMTP_PORT", 1025, int, shared=True)
    mail_from: str = setting("MAIL_FROM", "CRM <no-reply@crm.local>", shared=True)
