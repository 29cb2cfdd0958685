"""Settings of the score service, from environment variables prefixed ``SHORTLIST_``."""

from pydantic import AliasChoices, Field, field_validator

from shortlist.runtime.settings import ServiceSettings

SCORERS = ("rubric",)


class Settings(ServiceSettings):
    service_name: str = "score"
    port: int = Field(default=8003, validation_alias=AliasChoices("SHORTLIST_SCORE_PORT", "SHORTLIST_PORT"))
    #: ``SHORTLIST_SCORER``: which scorer turns evidence into scores.
    scorer: str = "rubric"
    #: ``SHORTLIST_SCORE_ADVANCE_THRESHOLD`` / ``..._REJECT_THRESHOLD``: for jobs that set none of their own.
    score_advance_threshold: float = Field(default=70.0, ge=0, le=100)
    score_reject_threshold: float = Field(default=45.0, ge=0, le=100)

    @field_validator("scorer")
    @classmethod
    def known_scorer(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in SCORERS:
            raise ValueError(f"SHORTLIST_SCORER must be one of: {', '.join(SCORERS)} (got {value!r})")
        return name
