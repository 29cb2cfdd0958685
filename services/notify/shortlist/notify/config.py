"""Settings of the notify service (environment variables prefixed ``SHORTLIST_``)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shortlist.runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHORTLIST_", extra="ignore", populate_by_name=True)

    service_name: str = "notify"
    port: int = Field(default=8004, validation_alias=AliasChoices("port", "SHORTLIST_NOTIFY_PORT", "SHORTLIST_PORT"))
    database_url: str | None = None
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = Field(default=4, ge=1)
    webhook_backoff_initial_seconds: float = 0.5
    webhook_backoff_max_seconds: float = 8.0
    webhook_allowed_hosts: str = ""
    """Comma-separated host names or addresses that may be webhook targets even when private or loopback."""

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower().strip("[]") for h in self.webhook_allowed_hosts.split(",") if h.strip())
