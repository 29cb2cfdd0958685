"""Settings of the embed service (environment variables prefixed ``SHORTLIST_``)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shortlist.runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHORTLIST_", extra="ignore", populate_by_name=True)

    service_name: str = "embed"
    port: int = Field(default=8002, validation_alias=AliasChoices("SHORTLIST_EMBED_PORT", "SHORTLIST_PORT"))
    qdrant_url: str | None = None
    """A Qdrant server; without it qdrant-client's local mode keeps the vectors under ``state_dir/qdrant``."""
    qdrant_api_key: str | None = None
    embed_threads: int = 2
    """Torch intra-op threads of the embedding model."""
    embed_batch_size: int = 16
    chunk_max_words: int = 150
    chunk_overlap_words: int = 20
    evidence_top_k: int = 3
    unknown_job_max_attempts: int = 20
    """Tries of a CV whose job is not known yet before it is dead-lettered with ``unknown_job``."""
