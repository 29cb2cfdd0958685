"""Ingest's consumers: upstream submissions on ``cv.submitted.v1`` and the application status read model."""

import logging
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from shortlist.ingest.erasure import ErasureHandler
from shortlist.ingest.extraction import ExtractionError
from shortlist.ingest.pipeline import Ingestor, Submission, derived_id
from shortlist.ingest.store import RANK, Application, Store, StoredWork, utcnow
from shortlist.runtime.consumer import Handler
from shortlist.runtime.errors import PermanentError
from shortlist.runtime.records import Record
from shortlist.runtime.topics import (
    CANDIDATES_ERASED,
    CV_EMBEDDED,
    CV_INGESTED,
    CV_SCORED,
    CV_SUBMITTED,
    NOTIFY_DELIVERED,
    dlt,
)
from shortlist.v1 import common_pb2, cv_pb2, notify_pb2, score_pb2

log = logging.getLogger(__name__)

#: Delivery outcomes after which notify is done with an application; a delivery that gave up is not.
NOTIFIED_OUTCOMES = frozenset({"delivered", "no_subscribers"})

#: The step that consumes each topic, and the status rank that step would reach.
FAILED_STEP = {
    CV_SUBMITTED: ("ingest", 1),
    CV_INGESTED: ("embed", 2),
    CV_EMBEDDED: ("score", 3),
    CV_SCORED: ("notify", 4),
}


def submission_id(message: cv_pb2.CvSubmitted, record: Record) -> str:
    """The application id of an upstream submission: its own, else the record key, else one from the ce_id."""
    return message.application_id or record.key or derived_id("submission", record.envelope.id)


def enum_name(enum: Any, value: int) -> str | None:
    """``RECOMMENDATION_ADVANCE`` -> ``advance``; the unspecified value -> None."""
    name = str(enum.Name(value)).split("_", 1)[-1].lower() if value else ""
    return name.removeprefix("kind_") or None


def timestamp(value: Any, fallback: datetime) -> datetime:
    return value.ToDatetime(tzinfo=UTC) if value.seconds or value.nanos else fallback


class IngestHandlers:
    def __init__(self, store: Store, ingestor: Ingestor) -> None:
        self._store = store
        self._ingestor = ingestor

    def routes(self) -> dict[str, Handler]:
        routes: dict[str, Handler] = {
            CV_SUBMITTED: self.on_submitted,
            CV_INGESTED: self.on_ingested,
            CV_EMBEDDED: self.on_embedded,
            CV_SCORED: self.on_scored,
            NOTIFY_DELIVERED: self.on_delivered,
            CANDIDATES_ERASED: ErasureHandler(self._store).on_candidate_erased,
        }
        routes.update({dlt(topic): self.on_dead_letter for topic in FAILED_STEP})
        return routes

    async def on_submitted(self, record: Record) -> None:
        message = record.message
        assert isinstance(message, cv_pb2.CvSubmitted)
        application_id = submission_id(message, record)
        if len(application_id) > 128:
            raise PermanentError("invalid_submission", "application_id is longer than 128 characters")
        if not message.job_id:
            raise PermanentError("invalid_submission", "job_id is missing")
        job = await self._store.get_job(message.job_id)
        if job is None:
            raise PermanentError("job_not_found", f"job {message.job_id} does not exist")
        document = message.WhichOneof("document")
        if document is None:
            raise PermanentError("empty_text", "the submission has neither document content nor text")
        submission = Submission(
            application_id=application_id,
            job_id=message.job_id,
            data=message.content if document == "content" else message.text.encode(),
            filename=message.filename or ("cv.txt" if document == "text" else ""),
            content_type=message.content_type or ("text/plain" if document == "text" else None),
            candidate_id=message.candidate_id,
            candidate_name=message.candidate_name or None,
            candidate_email=message.candidate_email or None,
            external_id=message.external_id or None,
            submitted_at=timestamp(message.submitted_at, record.envelope.time),
        )
        try:
            extracted = await self._ingestor.extract(submission)
        except ExtractionError as exc:
            raise PermanentError(exc.code, exc.message) from exc
        event = await self._ingestor.record_received(submission, extracted)
        await self._ingestor.publish(event, job.version)

    async def on_ingested(self, record: Record) -> None:
        """Mostly a read: an upload here wrote ``ingested`` already (this repairs a crash before that write)."""
        application_id = getattr(record.message, "application_id", "") or record.key
        if application_id and await self._store.has_reached(application_id, "ingested"):
            return
        await self._progress(record, "ingested")

    async def on_embedded(self, record: Record) -> None:
        await self._progress(record, "embedded")

    async def on_scored(self, record: Record) -> None:
        await self._progress(record, "scored")

    async def on_delivered(self, record: Record) -> None:
        message = record.message
        assert isinstance(message, notify_pb2.DeliveryAttempted)
        if message.outcome in NOTIFIED_OUTCOMES:
            await self._progress(record, "notified")

    async def _progress(self, record: Record, status: str) -> None:
        message = record.message
        application_id = getattr(message, "application_id", "") or record.key
        if not application_id:
            raise PermanentError("invalid_event", f"{record.topic} event without an application id")
        async with self._store.application_update(application_id, record.envelope.id, record.topic) as update:
            if update is None:
                return
            session, row = update
            if row is None:
                row = _new_row(application_id, message)
                session.add(row)
            job_version = getattr(message, "job_version", 0)
            if job_version:
                row.job_version = job_version
            if isinstance(message, score_pb2.CvScored):
                row.score = score_view(message)
                row.score_value = row.score["score"]
                row.recommendation = row.score["recommendation"]
            row.reach(status, record.envelope.time)
            if RANK[status] >= RANK["notified"]:
                work = await session.get(StoredWork, application_id)
                if work is not None:
                    await session.delete(work)

    async def on_dead_letter(self, record: Record) -> None:
        original = record.headers.get("dlt-original-topic") or record.topic.removesuffix("-dlt")
        step, rank = FAILED_STEP.get(original, ("unknown", 1))
        message = record.message
        if isinstance(message, cv_pb2.CvSubmitted):
            application_id = submission_id(message, record)
        else:
            application_id = getattr(message, "application_id", "") or record.key or ""
        if not application_id:
            log.warning("dead letter on %s without an application id; skipped", record.topic)
            return
        code = record.headers.get("dlt-exception-type") or "unknown_error"
        reason = record.headers.get("dlt-exception-message") or "the step gave up on this application"
        async with self._store.application_update(application_id, record.envelope.id + "/dlt", record.topic) as update:
            if update is None:
                return
            session, row = update
            if row is None:
                row = _new_row(application_id, message)
                row.reach("received", record.envelope.time)
                session.add(row)
            row.fail(code, reason, step, rank, utcnow())


def _new_row(application_id: str, message: Message) -> Application:
    row = Application(
        id=application_id,
        job_id=getattr(message, "job_id", "") or "",
        candidate_id=getattr(message, "candidate_id", "") or "",
        progress=0,
    )
    if isinstance(message, cv_pb2.CvSubmitted):
        row.candidate_name = message.candidate_name or None
        row.external_id = message.external_id or None
        row.filename = message.filename or None
    return row


def score_view(message: score_pb2.CvScored) -> dict[str, Any]:
    """The score as the API shows it."""
    return {
        "score": round(float(message.score), 2),
        "recommendation": enum_name(score_pb2.Recommendation, message.recommendation),
        "scorer": message.scorer,
        "model": message.model,
        "prompt_version": message.prompt_version,
        "job_version": message.job_version,
        "flags": list(message.flags),
        "summary": message.summary,
        "requirements": [
            {
                "id": r.requirement.id,
                "text": r.requirement.text,
                "kind": enum_name(common_pb2.RequirementKind, r.requirement.kind),
                "weight": round(float(r.requirement.weight), 3),
                "score": round(float(r.score), 2),
                "verdict": enum_name(score_pb2.Verdict, r.verdict),
                "reason": r.reason,
                "quotes": [q.text for q in r.quotes],
            }
            for r in message.requirements
        ],
    }
