"""Subscriptions, the delivery log and erased applications (SQLAlchemy async: SQLite by default, PostgreSQL by URL)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String, Text, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shortlist.runtime.database import create_engine, session_factory

DELIVERED = "delivered"


class Base(DeclarativeBase):
    pass


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(128), index=True)
    min_score: Mapped[float | None] = mapped_column(Float)
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)

    def matches(self, job_id: str, score: float) -> bool:
        return (self.job_id is None or self.job_id == job_id) and (self.min_score is None or score >= self.min_score)


class Delivery(Base):
    """One delivery of one event to one subscription: its final outcome after ``attempt`` tries."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # A successful delivery happens once per subscription and event, however often the event is replayed.
        Index(
            "uq_deliveries_delivered",
            "subscription_id",
            "event_id",
            unique=True,
            sqlite_where=text("outcome = 'delivered'"),
            postgresql_where=text("outcome = 'delivered'"),
        ),
    )

    delivery_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(36), index=True)
    event_id: Mapped[str] = mapped_column(String(128))
    application_id: Mapped[str] = mapped_column(String(128), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ErasedApplication(Base):
    """The application's candidate was erased: its deliveries are deleted and its scores never delivered."""

    __tablename__ = "notify_erased_applications"

    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class NewSubscription:
    url: str
    secret: str
    job_id: str | None = None
    min_score: float | None = None


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Store:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self._sessions = session_factory(self.engine)

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def stop(self) -> None:
        await self.engine.dispose()

    async def add_subscription(self, new: NewSubscription) -> Subscription:
        subscription = Subscription(
            id=str(uuid.uuid4()),
            url=new.url,
            job_id=new.job_id,
            min_score=new.min_score,
            secret=new.secret,
            created_at=datetime.now(UTC),
            active=True,
        )
        async with self._sessions() as session, session.begin():
            session.add(subscription)
        return subscription

    async def subscription(self, subscription_id: str) -> Subscription | None:
        async with self._sessions() as session:
            found = await session.get(Subscription, subscription_id)
            return found if found is not None and found.active else None

    async def subscriptions(self, job_id: str | None = None) -> list[Subscription]:
        query = select(Subscription).where(Subscription.active.is_(True)).order_by(Subscription.created_at)
        if job_id is not None:
            query = query.where((Subscription.job_id == job_id) | Subscription.job_id.is_(None))
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def deactivate(self, subscription_id: str) -> bool:
        async with self._sessions() as session, session.begin():
            found = await session.get(Subscription, subscription_id)
            if found is None or not found.active:
                return False
            found.active = False
            return True

    async def delivered(self, subscription_id: str, event_id: str) -> Delivery | None:
        query = select(Delivery).where(
            Delivery.subscription_id == subscription_id, Delivery.event_id == event_id, Delivery.outcome == DELIVERED
        )
        async with self._sessions() as session:
            return (await session.scalars(query)).first()

    async def record(self, delivery: Delivery) -> Delivery:
        """Log a delivery; when the same event was already delivered to the subscription, return that one."""
        try:
            async with self._sessions() as session, session.begin():
                session.add(delivery)
        except IntegrityError:
            existing = await self.delivered(delivery.subscription_id, delivery.event_id)
            if existing is None:
                raise
            return existing
        return delivery

    async def deliveries(
        self, subscription_id: str | None = None, application_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        query = select(Delivery).order_by(Delivery.at.desc()).limit(limit)
        if subscription_id is not None:
            query = query.where(Delivery.subscription_id == subscription_id)
        if application_id is not None:
            query = query.where(Delivery.application_id == application_id)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def erase(self, application_ids: Sequence[str], erased_at: datetime) -> int:
        """Delete the applications' deliveries and tombstone them; idempotent. Returns the deliveries deleted."""
        ids = sorted(set(application_ids))
        if not ids:
            return 0
        async with self._sessions() as session, session.begin():
            deleted = await session.execute(delete(Delivery).where(Delivery.application_id.in_(ids)))
            known = set(
                await session.scalars(
                    select(ErasedApplication.application_id).where(ErasedApplication.application_id.in_(ids))
                )
            )
            session.add_all(ErasedApplication(application_id=i, erased_at=erased_at) for i in ids if i not in known)
        return int(getattr(deleted, "rowcount", 0) or 0)

    async def is_erased(self, application_id: str) -> bool:
        async with self._sessions() as session:
            return await session.get(ErasedApplication, application_id) is not None
