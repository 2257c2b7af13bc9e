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
    # identity's own attempt limits, per minute (0: none), whoever calls it (service_layer/limits.py)
    login_per_account_per_minute: int = setting("LOGIN_PER_ACCOUNT_PER_MINUTE", 20, int)
    login_per_caller_per_minute: int = setting("LOGIN_PER_CALLER_PER_MINUTE", 600, int,
                                               doc="per calling address (a gateway replica counts as one)")
    forgot_per_account_per_minute: int = setting("FORGOT_PER_ACCOUNT_PER_MINUTE", 6, int)
    forgot_per_caller_per_minute: int = setting("FORGOT_PER_CALLER_PER_MINUTE", 300, int)
    reset_per_caller_per_minute: int = setting("RESET_PER_CALLER_PER_MINUTE", 120, int)
    password_check_per_user_per_minute: int = setting("PASSWORD_CHECK_PER_USER_PER_MINUTE", 10, int,
                                                      doc="checks of a user's current password")

    def limits(self):
        """The attempt limits these settings name."""
        from crm_identity.service_layer.limits import Limits

        return Limits(login_per_account=self.login_per_account_per_minute,
                      login_per_caller=self.login_per_caller_per_minute,
                      forgot_per_account=self.forgot_per_account_per_minute,
                      forgot_per_caller=self.forgot_per_caller_per_minute,
                      reset_per_caller=self.reset_per_caller_per_minute,
                      password_check_per_user=self.password_check_per_user_per_minute)
