"""Automation settings, read once from AUTOMATION_* (and shared) environment variables."""

import dataclasses

from crm_platform.config import setting
from crm_platform.runtime import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class AutomationSettings(ServiceSettings):
    """What the automation processes need."""

    service_private_key: str = setting("SERVICE_TOKEN_PRIVATE_KEY", shared=True, secret=True,
                                       doc="PEM or path: signs the service tokens processes act with")
    records_addr: str = setting("RECORDS_GRPC_ADDR", shared=True, doc="records gRPC host:port")
    pipeline_addr: str = setting("PIPELINE_GRPC_ADDR", shared=True, doc="pipeline gRPC host:port")
    rpc_timeout: float = setting("RPC_TIMEOUT_SECONDS", 3.0, float)
    run_attempts: int = setting("RUN_ATTEMPTS", 5, int, doc="tries of a failing run before it is parked")
