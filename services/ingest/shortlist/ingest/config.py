"""Settings of the ingest service (environment variables prefixed ``SHORTLIST_``)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shortlist.ingest.model import Limits
from shortlist.runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHORTLIST_", extra="ignore", populate_by_name=True)

    service_name: str = "ingest"
    port: int = Field(default=8001, validation_alias=AliasChoices("SHORTLIST_INGEST_PORT", "SHORTLIST_PORT"))
    database_url: str | None = None
    consumer_group: str = "shortlist-ingest"
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_pages: int = Field(default=30, gt=0)
    max_text_chars: int = Field(default=300_000, gt=0)
    max_unzipped_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    extraction_timeout_seconds: float = Field(default=30.0, gt=0)
    redrive_after_seconds: float = Field(default=600.0, ge=0, le=365 * 24 * 3600)
    """Applications not notified this long after their work was (re-)published are re-driven."""
    redrive_interval_seconds: float = Field(default=60.0, ge=0)
    """How often to look for them after the first look at start; 0: only at start and on request."""
    redrive_start_delay_seconds: float = Field(default=2.0, ge=0)
    redrive_batch: int = Field(default=1000, gt=0)
    redrive_max_attempts: int = Field(default=10, gt=0)

    @property
    def limits(self) -> Limits:
        return Limits(
            max_bytes=self.max_upload_bytes,
            max_pages=self.max_pages,
            max_chars=self.max_text_chars,
            max_unzipped_bytes=self.max_unzipped_bytes,
        )
