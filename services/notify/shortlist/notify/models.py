"""Notify's tables as ORM classes (the schema itself is made by migrations.py)."""

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
SKIPPED = "skipped"
FINAL = frozenset({DELIVERED, FAILED, SKIPPED})


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(128))
    min_score: Mapped[float | None] = mapped_column(Float)
    recommendations: Mapped[str | None] = mapped_column(Text)
    """Comma-separated recommendations the subscription wants; empty means all."""
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def recommendation_list(self) -> list[str]:
        return [r for r in (self.recommendations or "").split(",") if r]

    def matches(self, job_id: str, score: float, recommendation: str = "") -> bool:
        wanted = self.recommendation_list
        return (
            (self.job_id is None or self.job_id == job_id)
            and (self.min_score is None or score >= self.min_score)
            and (not wanted or recommendation in wanted)
        )

    def secrets(self, now: datetime) -> list[str]:
        """The secrets to sign with: the current one, and the previous one during its grace period."""
        until = self.previous_secret_until
        if self.previous_secret and until is not None and utc(until) > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class Delivery(Base):
    """One score for one subscription: pending until delivered, failed after the last try, or skipped."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(36))
    event_id: Mapped[str] = mapped_column(String(128))
    application_id: Mapped[str] = mapped_column(String(128))
    job_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    """Attempts since the delivery was (re)scheduled: the position in the retry schedule."""
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Attempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(36))
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_seconds: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


class ErasedApplication(Base):
    """The application's candidate was erased: its deliveries are deleted and its scores never delivered."""

    __tablename__ = "notify_erased_applications"

    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
