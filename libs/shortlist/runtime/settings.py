"""Settings every service shares, read from environment variables prefixed ``SHORTLIST_``."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """How a service reaches the broker and consumes from it."""

    model_config = SettingsConfigDict(env_prefix="SHORTLIST_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_partitions: int = 4
    kafka_replication_factor: int = 1
    kafka_request_timeout_ms: int = 30_000
    kafka_idempotence: bool = False
    consumer_batch_size: int = 64
    consumer_poll_ms: int = 500
    consumer_fetch_wait_ms: int = 250
    """How long the broker may hold a fetch that finds no new record (``fetch.max.wait.ms``; the client's
    default is 500). The embedded broker answers a held fetch on its own clock rather than as soon as a record
    arrives, so on an idle stack each hop can wait this long (docs/pipeline.md)."""
    consumer_concurrency: int = 1
    """Records of different keys handled at once per partition (records of one key always in order)."""
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    retry_max_attempts: int = 8


class ServiceSettings(KafkaSettings):
    """Settings of one service process."""

    service_name: str = "shortlist"
    host: str = "127.0.0.1"
    port: int = 8000
    state_dir: Path = Path(".shortlist")
    log_level: str = "INFO"
    trace_file: Path | None = None
    api_keys: str = ""
    #: ``SHORTLIST_GAUGE_REFRESH_SECONDS``: how often gauges read from a store (applications by status,
    #: vectors stored) are refreshed.
    gauge_refresh_seconds: float = 5.0

    def state_path(self, *parts: str) -> Path:
        path = self.state_dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
