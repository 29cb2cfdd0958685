"""Request and response bodies of the notify API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Recommendation = Literal["advance", "review", "reject"]


class SubscriptionIn(BaseModel):
    url: str = Field(min_length=1, max_length=2048)
    job_id: str | None = Field(default=None, min_length=1, max_length=128)
    min_score: float | None = Field(default=None, ge=0, le=100)
    recommendations: list[Recommendation] | None = Field(default=None, description="only these; all when empty")
    secret: str | None = Field(default=None, description="whsec_<base64 of 24 to 64 bytes>; generated when not given")


class SubscriptionPatch(BaseModel):
    """Only the fields given change; ``null`` clears a filter."""

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    job_id: str | None = Field(default=None, min_length=1, max_length=128)
    min_score: float | None = Field(default=None, ge=0, le=100)
    recommendations: list[Recommendation] | None = None
    paused: bool | None = None


class BreakerOut(BaseModel):
    state: str = Field(description="closed, half_open or open")
    consecutive_failures: int
    in_flight: int


class SubscriptionOut(BaseModel):
    id: str
    url: str
    job_id: str | None
    min_score: float | None
    recommendations: list[str] | None
    paused: bool
    failing: bool = Field(description="its last delivery failed after every attempt")
    failing_since: datetime | None
    created_at: datetime
    breaker: BreakerOut = Field(description="the circuit breaker of the subscription's endpoint, in this replica")


class CreatedSubscription(SubscriptionOut):
    secret: str


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class RotatedSecret(BaseModel):
    id: str
    secret: str
    previous_secret_valid_until: datetime


class TestResult(BaseModel):
    webhook_id: str
    delivered: bool
    status_code: int | None
    error: str | None
    latency_seconds: float


class DeliveryOut(BaseModel):
    delivery_id: str
    subscription_id: str
    event_id: str
    application_id: str
    job_id: str
    state: str = Field(description="pending, delivered, failed or skipped")
    attempts: int
    status_code: int | None
    error: str | None
    created_at: datetime
    next_at: datetime | None
    finished_at: datetime | None


class AttemptOut(BaseModel):
    number: int
    at: datetime
    status_code: int | None
    latency_seconds: float
    error: str | None


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
