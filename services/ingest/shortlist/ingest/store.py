"""Ingest's database: jobs, applications (the status read model) and processed events."""

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, LargeBinary, String, Text, TypeDecorator, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shortlist.ingest.migrations import migrate
from shortlist.runtime.database import create_engine, database_url, session_factory
from shortlist.runtime.locks import KeyedLocks

STATUSES = ("received", "ingested", "embedded", "scored", "notified")
RANK = {name: rank for rank, name in enumerate(STATUSES)}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    requirements: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class JobVersion(Base):
    __tablename__ = "job_versions"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    requirements: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @classmethod
    def of(cls, job: Job) -> "JobVersion":
        return cls(
            job_id=job.id,
            version=job.version,
            title=job.title,
            description=job.description,
            requirements=job.requirements,
            created_at=job.created_at,
        )


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_job_hash", "job_id", "content_hash"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    job_version: Mapped[int | None] = mapped_column(Integer)
    candidate_id: Mapped[str] = mapped_column(String(128), default="", index=True)
    candidate_name: Mapped[str | None] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(300))
    filename: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(Text)
    failure_step: Mapped[str | None] = mapped_column(String(20))
    failure_rank: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ingested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    embedded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    scored_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    score: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    score_value: Mapped[float | None] = mapped_column(Float, index=True)
    recommendation: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    def reach(self, status: str, at: datetime) -> None:
        """Record a step; the status only ever moves forward."""
        rank = RANK[status]
        if getattr(self, f"{status}_at") is None:
            setattr(self, f"{status}_at", at)
        self.progress = max(self.progress or 0, rank)
        self._settle()

    def fail(self, code: str, message: str, step: str, rank: int, at: datetime) -> None:
        """A step failed; ignored when the application already got past that step."""
        if rank <= (self.progress or 0):
            return
        self.failure_code, self.failure_message, self.failure_step = code, message, step
        self.failure_rank, self.failed_at = rank, at
        self._settle()

    def _settle(self) -> None:
        failed = self.failure_rank is not None and self.failure_rank > (self.progress or 0)
        self.status = "failed" if failed else STATUSES[self.progress or 0]


class ScoreOverride(Base):
    """A reviewer's adjustment of one application's score; kept next to the computed score, never over it."""

    __tablename__ = "score_overrides"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(128), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    recommendation: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(200))
    computed_score: Mapped[float | None] = mapped_column(Float)
    computed_recommendation: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ErasedApplication(Base):
    """A tombstone: the application's candidate was erased; late events about it are ignored."""

    __tablename__ = "erased_applications"

    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StoredWork(Base):
    """The ``CvIngested`` event of an application not through the pipeline yet, as first published (same ``ce_id``).

    Re-drive publishes it again after a restart lost it in flight; deleted once the application is notified.
    """

    __tablename__ = "stored_work"

    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    redriven_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    redrives: Mapped[int] = mapped_column(Integer, default=0)


class ProcessedEvent(Base):
    __tablename__ = "processed_events"

    ce_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    topic: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Store:
    """Async repository over one engine. Writes to one application are serialised in this process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self._locks = KeyedLocks()

    @classmethod
    def for_settings(cls, configured_url: str | None, sqlite_file: Path) -> "Store":
        return cls(database_url(configured_url, sqlite_file))

    async def create(self) -> None:
        """Bring the schema to the latest version (see migrations.py)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(migrate)

    async def close(self) -> None:
        await self.engine.dispose()

    async def count_by_status(self) -> dict[str, int]:
        """Applications per status (the read model's own status column)."""
        async with self.sessions() as session:
            rows = await session.execute(select(Application.status, func.count()).group_by(Application.status))
            return {str(status): int(count) for status, count in rows.all()}

    async def ping(self) -> None:
        async with self.sessions() as session:
            await session.execute(select(1))

    async def add(self, *rows: Base) -> None:
        async with self.sessions() as session:
            session.add_all(rows)
            await session.commit()

    async def get_job(self, job_id: str) -> Job | None:
        async with self.sessions() as session:
            return await session.get(Job, job_id)

    async def list_jobs(self, limit: int, offset: int) -> tuple[int, list[Job]]:
        async with self.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Job))
            rows = await session.scalars(select(Job).order_by(Job.created_at.desc()).limit(limit).offset(offset))
            return int(total or 0), list(rows)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """The in-process lock that serialises work on ``key``."""
        return self._locks.hold(key)

    async def get_job_version(self, job_id: str, version: int) -> JobVersion | None:
        async with self.sessions() as session:
            return await session.get(JobVersion, (job_id, version))

    async def add_job(self, job: Job) -> None:
        await self.add(job, JobVersion.of(job))

    @asynccontextmanager
    async def job_update(self, job_id: str) -> AsyncIterator[tuple[AsyncSession, Job | None]]:
        """A job for update; commits on success. Updates of one job are serialised in this process."""
        async with self.lock(f"job/{job_id}"), self.sessions() as session:
            yield session, await session.get(Job, job_id, with_for_update=True)
            await session.commit()

    async def find_duplicate(self, job_id: str, content_hash: str) -> Application | None:
        """An earlier application to this job with the same document bytes that did not fail."""
        query = (
            select(Application)
            .where(
                Application.job_id == job_id,
                Application.content_hash == content_hash,
                Application.status != "failed",
            )
            .order_by(Application.received_at)
            .limit(1)
        )
        async with self.sessions() as session:
            return (await session.scalars(query)).first()

    async def get_application(self, application_id: str) -> Application | None:
        async with self.sessions() as session:
            return await session.get(Application, application_id)

    async def ranking(
        self,
        job_id: str,
        limit: int,
        offset: int,
        recommendations: Sequence[str] = (),
        min_score: float | None = None,
    ) -> tuple[int, list[Application]]:
        scored = (Application.job_id == job_id) & Application.score_value.is_not(None)
        if recommendations:
            scored &= Application.recommendation.in_(list(recommendations))
        if min_score is not None:
            scored &= Application.score_value >= min_score
        async with self.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Application).where(scored))
            query = (
                select(Application)
                .where(scored)
                .order_by(Application.score_value.desc(), Application.scored_at.asc(), Application.id)
                .limit(limit)
                .offset(offset)
            )
            return int(total or 0), list(await session.scalars(query))

    async def has_reached(self, application_id: str, status: str) -> bool:
        """Whether the application's row already records step ``status`` (one read, no transaction)."""
        reached_at = getattr(Application, f"{status}_at")
        query = select(Application.progress, reached_at).where(Application.id == application_id)
        async with self.sessions() as session:
            found = (await session.execute(query)).first()
        return found is not None and found[1] is not None and (found[0] or 0) >= RANK[status]

    @asynccontextmanager
    async def application_update(
        self, application_id: str, ce_id: str | None = None, topic: str = ""
    ) -> AsyncIterator[tuple[AsyncSession, Application | None] | None]:
        """One application's row for update in a transaction that also records ``ce_id`` as processed.

        Yields None when ``ce_id`` was processed already or the application was erased; the caller then does
        nothing.
        """
        async with self.lock(f"application/{application_id}"), self.sessions() as session:
            if await session.get(ErasedApplication, application_id) is not None:
                yield None
                return
            if ce_id is not None:
                if await session.get(ProcessedEvent, ce_id) is not None:
                    yield None
                    return
                session.add(ProcessedEvent(ce_id=ce_id, topic=topic))
            row = await session.get(Application, application_id, with_for_update=True)
            yield session, row
            await session.commit()
