"""Records settings, read once from RECORDS_* (and shared) environment variables."""

import dataclasses

from crm_platform.config import setting
from crm_platform.runtime import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecordsSettings(ServiceSettings):
    """What the records processes need."""

    pipeline_addr: str = setting("PIPELINE_GRPC_ADDR", shared=True, doc="pipeline gRPC host:port")
    identity_addr: str = setting("IDENTITY_GRPC_ADDR", shared=True, doc="identity gRPC host:port")
    service_private_key: str = setting("SERVICE_TOKEN_PRIVATE_KEY", "", shared=True, secret=True,
                                       doc="PEM or path: signs service tokens for background work")
    stage_cache_seconds: float = setting("STAGE_CACHE_SECONDS", 10.0, float,
                                         doc="how long a stage context is trusted without an event")
    user_cache_seconds: float = setting("USER_CACHE_SECONDS", 60.0, float,
                                        doc="how long a user (active, name) is trusted without an event")
    rpc_timeout: float = setting("RPC_TIMEOUT_SECONDS", 2.5, float,
                                 doc="deadline of each call to pipeline and identity")
