"""The audit record of every score: scorer, model, prompt version, input hash, the evidence read and the output.

SQLite under the state folder by default, PostgreSQL through ``SHORTLIST_DATABASE_URL``. One row per published
``CvScored`` event id, so a redelivered record is stored once. A candidate's erasure deletes their rows and leaves
a tombstone per application, so a late score of an erased application is not stored again.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, DateTime, Float, Integer, String, Text, delete, inspect, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import ColumnElement

from shortlist.runtime.database import create_engine, session_factory
from shortlist.score.scorers.base import ScoreResult
from shortlist.v1 import cv_pb2


class Base(DeclarativeBase):
    pass


class ScoreAudit(Base):
    __tablename__ = "score_audit"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_event_id: Mapped[str] = mapped_column(String(128))
    application_id: Mapped[str] = mapped_column(String(128), index=True)
    candidate_id: Mapped[str] = mapped_column(String(128), index=True, default="", server_default="")
    job_id: Mapped[str] = mapped_column(String(128), index=True)
    job_version: Mapped[int] = mapped_column(Integer)
    scorer: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(256))
    prompt_version: Mapped[str] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(64), index=True)
    score: Mapped[float] = mapped_column(Float)
    recommendation: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text)
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ErasedApplication(Base):
    """The application's candidate was erased: its scores are no longer stored."""

    __tablename__ = "score_erased_applications"

    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


_LOCK_ID = 7_341_005


def upgrade(connection: Connection) -> None:
    """Create missing tables and add columns a database made by an older version lacks (one replica at a time)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})"))
    Base.metadata.create_all(connection)
    columns = {c["name"] for c in inspect(connection).get_columns("score_audit")}
    if "candidate_id" not in columns:
        connection.execute(text("ALTER TABLE score_audit ADD COLUMN candidate_id VARCHAR(128) NOT NULL DEFAULT ''"))
        connection.execute(text("CREATE INDEX ix_score_audit_candidate_id ON score_audit (candidate_id)"))


@dataclass(frozen=True)
class AuditEntry:
    event_id: str
    application_id: str
    job_id: str
    scorer: str
    model: str
    prompt_version: str
    input_hash: str
    score: float
    recommendation: str
    evidence: list[dict[str, Any]]
    output: dict[str, Any]
    scored_at: datetime
    candidate_id: str = ""


def evidence_of(embedded: cv_pb2.CvEmbedded) -> list[dict[str, Any]]:
    return [
        {
            "requirement_id": e.requirement.id,
            "requirement": e.requirement.text,
            "chunks": [
                {"chunk_id": c.chunk_id, "similarity": round(float(c.similarity), 6), "text": c.text} for c in e.chunks
            ],
        }
        for e in embedded.evidence
    ]


def output_of(result: ScoreResult) -> dict[str, Any]:
    output = asdict(result)
    output["requirements"] = [
        {**asdict(r), "verdict": str(r.verdict), "quotes": [asdict(q) for q in r.quotes]} for r in result.requirements
    ]
    output["recommendation"] = str(result.recommendation)
    output["flags"] = [str(f) for f in result.flags]
    return output


class Recorded(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    """Stored before under the same event id (a redelivery): publish again, store nothing."""
    ERASED = "erased"
    """The application's candidate was erased: neither stored nor published."""


class AuditStore:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self._sessions = session_factory(self.engine)

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    async def stop(self) -> None:
        await self.engine.dispose()

    async def record(
        self,
        event_id: str,
        source_event_id: str,
        embedded: cv_pb2.CvEmbedded,
        result: ScoreResult,
        scored_at: datetime,
    ) -> Recorded:
        """Store the score once per event id, unless the application was erased."""
        row = ScoreAudit(
            event_id=event_id,
            source_event_id=source_event_id,
            application_id=embedded.application_id,
            candidate_id=embedded.candidate_id,
            job_id=embedded.job_id,
            job_version=embedded.job_version,
            scorer=result.scorer,
            model=result.model,
            prompt_version=result.prompt_version,
            input_hash=result.input_hash,
            score=result.score,
            recommendation=str(result.recommendation),
            evidence=json.dumps(evidence_of(embedded), ensure_ascii=False),
            output=json.dumps(output_of(result), ensure_ascii=False),
            scored_at=scored_at,
        )
        try:
            async with self._sessions.begin() as session:
                if await session.get(ErasedApplication, embedded.application_id) is not None:
                    return Recorded.ERASED
                session.add(row)
        except IntegrityError:  # the event id is the primary key: stored before
            return Recorded.DUPLICATE
        return Recorded.STORED

    async def is_erased(self, application_id: str) -> bool:
        async with self._sessions() as session:
            return await session.get(ErasedApplication, application_id) is not None

    async def erase(self, candidate_id: str, application_ids: Sequence[str], erased_at: datetime) -> int:
        """Delete the rows of the candidate and of these applications, tombstone them; idempotent. Rows deleted."""
        match: ColumnElement[bool] = ScoreAudit.application_id.in_(list(application_ids))
        if candidate_id:
            match = or_(match, ScoreAudit.candidate_id == candidate_id)
        async with self._sessions.begin() as session:
            found = set(await session.scalars(select(ScoreAudit.application_id).where(match)))
            deleted = await session.execute(delete(ScoreAudit).where(match))
            ids = found | set(application_ids)
            known = set(
                await session.scalars(
                    select(ErasedApplication.application_id).where(ErasedApplication.application_id.in_(ids))
                )
            )
            session.add_all(ErasedApplication(application_id=i, erased_at=erased_at) for i in sorted(ids - known))
        return int(getattr(deleted, "rowcount", 0) or 0)

    async def for_application(self, application_id: str) -> list[AuditEntry]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ScoreAudit).where(ScoreAudit.application_id == application_id).order_by(ScoreAudit.scored_at)
            )
            return [
                AuditEntry(
                    event_id=r.event_id,
                    application_id=r.application_id,
                    candidate_id=r.candidate_id,
                    job_id=r.job_id,
                    scorer=r.scorer,
                    model=r.model,
                    prompt_version=r.prompt_version,
                    input_hash=r.input_hash,
                    score=r.score,
                    recommendation=r.recommendation,
                    evidence=json.loads(r.evidence),
                    output=json.loads(r.output),
                    scored_at=r.scored_at if r.scored_at.tzinfo else r.scored_at.replace(tzinfo=UTC),
                )
                for r in rows
            ]
