"""Pipeline settings, read once from PIPELINE_* (and shared) environment variables."""

import dataclasses

from crm_platform.runtime import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class PipelineSettings(ServiceSettings):
    """What the pipeline processes need (nothing beyond the common settings yet)."""
