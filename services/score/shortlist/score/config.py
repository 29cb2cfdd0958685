"""Settings of the score service, from environment variables prefixed ``SHORTLIST_``."""

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shortlist.runtime.settings import ServiceSettings

SCORERS = ("rubric", "llm")
LLM_CONSUMER_CONCURRENCY = 64


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHORTLIST_", extra="ignore", populate_by_name=True)

    service_name: str = "score"
    port: int = Field(default=8003, validation_alias=AliasChoices("SHORTLIST_SCORE_PORT", "SHORTLIST_PORT"))
    #: ``SHORTLIST_SCORER``: which scorer turns evidence into scores.
    scorer: str = "rubric"
    #: ``SHORTLIST_SCORE_ADVANCE_THRESHOLD`` / ``..._REJECT_THRESHOLD``: for jobs that set none of their own.
    score_advance_threshold: float = Field(default=70.0, ge=0, le=100)
    score_reject_threshold: float = Field(default=45.0, ge=0, le=100)
    #: ``SHORTLIST_DATABASE_URL``: the audit store; SQLite under the state folder when unset.
    database_url: str | None = None
    #: ``SHORTLIST_REDIS_URL``: shares the LLM rate limits and response cache between replicas when set.
    redis_url: str | None = None

    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    openai_api_key: str = Field(default="", validation_alias=AliasChoices("OPENAI_API_KEY", "SHORTLIST_OPENAI_API_KEY"))
    #: One HTTP call; a call still unanswered after this is retried.
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    #: All calls and retries for one CV; past it the record is retried later, then dead-lettered.
    llm_budget_seconds: float = Field(default=120.0, gt=0)
    llm_max_attempts: int = Field(default=8, ge=1)
    llm_backoff_initial_seconds: float = Field(default=0.5, ge=0)
    llm_backoff_max_seconds: float = Field(default=20.0, ge=0)
    #: Tries of a whole record whose LLM budget ran out before it goes to cv.embedded.v1-dlt.
    llm_record_attempts: int = Field(default=2, ge=1)
    llm_max_concurrency: int = Field(default=64, ge=1)
    llm_requests_per_minute: float = Field(default=500.0, gt=0)
    llm_tokens_per_minute: float = Field(default=2_000_000.0, gt=0)
    #: Bucket size, in seconds of the rate: how far above the steady rate a burst may go.
    llm_burst_seconds: float = Field(default=1.0, gt=0)
    llm_max_output_tokens: int = Field(default=400, gt=0)
    llm_cache_size: int = Field(default=10_000, ge=0)
    llm_cache_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    #: Price of 1000 tokens, for the cost estimate on the dashboards (default: gpt-4o-mini's list price in USD).
    llm_price_per_1k_input_tokens: float = Field(default=0.00015, ge=0)
    llm_price_per_1k_output_tokens: float = Field(default=0.0006, ge=0)

    @field_validator("scorer")
    @classmethod
    def known_scorer(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in SCORERS:
            raise ValueError(f"SHORTLIST_SCORER must be one of: {', '.join(SCORERS)} (got {value!r})")
        return name

    @model_validator(mode="after")
    def llm_concurrency(self) -> "Settings":
        """An LLM call waits about a second: unless ``SHORTLIST_CONSUMER_CONCURRENCY`` says otherwise, the LLM
        scorer handles 64 records of different applications per partition at once."""
        if self.scorer == "llm" and "consumer_concurrency" not in self.model_fields_set:
            self.consumer_concurrency = LLM_CONSUMER_CONCURRENCY
        return self
