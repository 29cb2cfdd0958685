"""Settings of the notify service (environment variables prefixed ``SHORTLIST_``)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shortlist.notify.schedule import Schedule
from shortlist.runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHORTLIST_", extra="ignore", populate_by_name=True)

    service_name: str = "notify"
    port: int = Field(default=8004, validation_alias=AliasChoices("port", "SHORTLIST_NOTIFY_PORT", "SHORTLIST_PORT"))
    database_url: str | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_schedule: str = "5,30,120,600,3600,14400,28800"
    """Seconds before each retry; a delivery fails after one attempt more than the schedule has entries."""
    webhook_retry_jitter: float = Field(default=0.2, ge=0, lt=1)
    webhook_retry_after_max_seconds: float = Field(default=28_800.0, ge=0)
    webhook_endpoint_concurrency: int = Field(default=16, ge=1)
    """Requests in flight per endpoint (scheme, host and port)."""
    webhook_max_in_flight: int = Field(default=256, ge=1)
    webhook_breaker_failures: int = Field(default=10, ge=1)
    webhook_breaker_cooldown_seconds: float = Field(default=30.0, ge=0)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    """How long a claimed delivery is held by one worker; after a crash it is sent again once this passes."""
    webhook_poll_max_seconds: float = Field(default=5.0, gt=0)
    """Longest sleep of an idle worker (deliveries queued by other replicas are found by then)."""
    webhook_claim_batch: int = Field(default=200, ge=1)
    webhook_max_response_bytes: int = Field(default=65_536, ge=0)
    webhook_secret_grace_seconds: float = Field(default=86_400.0, ge=0)
    """How long the previous secret still signs after a rotation."""
    webhook_allowed_hosts: str = ""
    """Comma-separated host names or addresses that may be webhook targets even when private or loopback."""

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower().strip("[]") for h in self.webhook_allowed_hosts.split(",") if h.strip())

    @property
    def schedule(self) -> Schedule:
        return Schedule.parse(
            self.webhook_retry_schedule, self.webhook_retry_jitter, self.webhook_retry_after_max_seconds
        )
