"""Settings of the embed service (environment variables prefixed ``SHORTLIST_``)."""

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from shortlist.runtime.settings import ServiceSettings

EMBEDDERS = ("minilm", "minilm-int8", "openai")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHORTLIST_", extra="ignore", populate_by_name=True)

    service_name: str = "embed"
    port: int = Field(default=8002, validation_alias=AliasChoices("SHORTLIST_EMBED_PORT", "SHORTLIST_PORT"))
    consumer_concurrency: int = 32
    """CVs of different applications handled at once per partition: their chunks share model calls."""
    consumer_batch_size: int = 256
    """Records per fetch: the consumer waits for a fetched batch to be done before the next fetch."""
    qdrant_url: str | None = None
    """A Qdrant server; without it qdrant-client's local mode keeps the vectors under ``state_dir/qdrant``."""
    qdrant_api_key: str | None = None
    embedder: str = "minilm-int8"
    """``minilm-int8`` (int8, ONNX Runtime, no torch), ``minilm`` (fp32, torch; both offline, CPU) or ``openai``
    (an OpenAI-compatible embeddings endpoint)."""
    onnx_model_dir: Path | None = None
    """``minilm-int8``: where the exported int8 model is kept (default: ``share/shortlist/models`` of the venv)."""
    embed_workers: int = Field(default=2, ge=1)
    """Model batches run at once (``minilm``, ``minilm-int8``), each on its own thread: one per core."""
    embed_threads: int = Field(default=1, ge=1)
    """Intra-op threads of each model batch (torch or ONNX Runtime)."""
    embed_batch_size: int = 16
    """Chunks per model batch, gathered across the CVs being handled."""
    embed_max_call_texts: int = 256
    """``openai``: texts one call takes at most when more are waiting (in requests of its batch size)."""
    embed_window_texts: int = 1024
    """``minilm``: the oldest queued chunks among which a model batch of similar lengths is chosen."""
    embed_linger_ms: float = 10.0
    """How long an idle model waits for more chunks before it runs a batch that is not full."""
    embed_dimension: int | None = None
    """``openai`` only: the vector size (sent as ``dimensions`` when set; 1536 assumed when unset)."""
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    openai_embed_model: str = "text-embedding-3-small"
    openai_embed_batch_size: int = 64
    openai_timeout_seconds: float = 30.0
    openai_max_attempts: int = 5
    """Tries of one embeddings request (429, 5xx, timeouts) before the record is retried later."""
    chunk_max_words: int = 150
    chunk_overlap_words: int = 20
    evidence_top_k: int = 3
    unknown_job_max_wait_seconds: float = 900.0
    """How long a CV whose job is not known stays parked before it is dead-lettered with ``unknown_job``."""
    unknown_job_check_seconds: float = 5.0
    """How often parked CVs are looked at (their job may have arrived through another replica)."""

    @field_validator("embedder")
    @classmethod
    def known_embedder(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in EMBEDDERS:
            raise ValueError(f"SHORTLIST_EMBEDDER must be one of: {', '.join(EMBEDDERS)} (got {value!r})")
        return name
