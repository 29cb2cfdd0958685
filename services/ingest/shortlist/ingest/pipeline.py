"""One document's way in: extraction with a time limit, PII, the application row and the CvIngested event.

Shared by the HTTP API and the ``cv.submitted.v1`` consumer.
"""

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from shortlist.ingest import metrics
from shortlist.ingest.config import Settings
from shortlist.ingest.extraction import Extracted, ExtractionError, extract
from shortlist.ingest.pii import find_pii, redact
from shortlist.ingest.store import RANK, Application, Store, StoredWork, utcnow
from shortlist.runtime.errors import PermanentError
from shortlist.runtime.producer import EventProducer
from shortlist.v1 import common_pb2, cv_pb2

ID_NAMESPACE = uuid.UUID("4f1c7a52-58a4-4c57-9a43-0e5d1b6f2a10")


def derived_id(*parts: str) -> str:
    """A deterministic id, so a redelivered record produces the same ids and event ids."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(parts)))


@dataclass
class Submission:
    application_id: str
    job_id: str
    data: bytes
    filename: str = ""
    content_type: str | None = None
    candidate_id: str = ""
    candidate_name: str | None = None
    candidate_email: str | None = None
    external_id: str | None = None
    submitted_at: datetime | None = None

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def ingested_event_id(application_id: str, content_hash: str) -> str:
    return derived_id("ingested", application_id, content_hash)


class Ingestor:
    def __init__(self, settings: Settings, store: Store, producer: EventProducer) -> None:
        self._settings = settings
        self._store = store
        self._producer = producer

    async def extract(self, submission: Submission) -> Extracted:
        """Extract in a worker thread; raises ExtractionError (also when the time limit is reached)."""
        started = time.perf_counter()
        kind = "unknown"
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(
                    extract, submission.data, submission.filename, submission.content_type, self._settings.limits
                ),
                timeout=self._settings.extraction_timeout_seconds,
            )
            kind = result.extractor
        except TimeoutError as exc:
            metrics.DOCUMENTS.labels(kind, "extraction_timeout").inc()
            raise ExtractionError(
                "extraction_timeout", f"extraction took longer than {self._settings.extraction_timeout_seconds:g} s"
            ) from exc
        except ExtractionError as exc:
            metrics.DOCUMENTS.labels(kind, exc.code).inc()
            raise
        metrics.EXTRACTION_SECONDS.observe(time.perf_counter() - started)
        metrics.DOCUMENTS.labels(kind, "ok").inc()
        return result

    async def record_received(self, submission: Submission, extracted: Extracted) -> cv_pb2.CvIngested:
        """Create (or refresh, on redelivery) the application row in status ``received``, with its work stored.

        The ``CvIngested`` event is stored in the same transaction, so re-drive can publish it again whatever
        happens after this. An application whose candidate was erased is not created again (a replayed upstream
        submission).
        """
        candidate_id = submission.candidate_id or derived_id("candidate", submission.application_id)
        event = build_ingested(submission, extracted, candidate_id)
        async with self._store.application_update(submission.application_id) as update:
            if update is None:
                raise PermanentError("application_erased", "the candidate of this application was erased")
            session, row = update
            if row is None:
                row = Application(id=submission.application_id, job_id=submission.job_id, progress=0)
                session.add(row)
            row.job_id = submission.job_id
            row.candidate_id = candidate_id
            row.candidate_name = submission.candidate_name or row.candidate_name
            row.external_id = submission.external_id or row.external_id
            row.filename = submission.filename or None
            row.content_hash = submission.content_hash
            row.reach("received", submission.submitted_at or utcnow())
            if (row.progress or 0) < RANK["notified"]:
                await session.merge(
                    StoredWork(
                        application_id=submission.application_id,
                        event_id=ingested_event_id(submission.application_id, submission.content_hash),
                        payload=event.SerializeToString(),
                        stored_at=utcnow(),
                        redrives=0,
                    )
                )
        return event

    async def publish(self, event: cv_pb2.CvIngested, job_version: int) -> None:
        """Publish CvIngested, then mark the application ``ingested``."""
        await self._producer.publish(
            event,
            key=event.application_id,
            event_id=ingested_event_id(event.application_id, event.content_hash),
        )
        async with self._store.application_update(event.application_id) as update:
            _, row = update or (None, None)
            if row is not None:
                row.content_type = event.content_type
                row.job_version = row.job_version or job_version
                row.reach("ingested", utcnow())

    async def fail(self, application_id: str, code: str, message: str) -> None:
        async with self._store.application_update(application_id) as update:
            _, row = update or (None, None)
            if row is not None:
                row.fail(code, message, "ingest", 1, utcnow())


def build_ingested(submission: Submission, extracted: Extracted, candidate_id: str) -> cv_pb2.CvIngested:
    pii = find_pii(extracted.text, submission.candidate_name)
    event = cv_pb2.CvIngested(
        application_id=submission.application_id,
        job_id=submission.job_id,
        candidate_id=candidate_id,
        text=extracted.text,
        redacted_text=redact(extracted.text, pii),
        parse_quality=extracted.parse_quality,
        content_hash=submission.content_hash,
        content_type=extracted.content_type,
        pages=extracted.pages,
        extractor=extracted.extractor,
    )
    event.sections.extend(
        common_pb2.Section(name=s.kind, span=common_pb2.Span(start=s.start, end=s.end)) for s in extracted.sections
    )
    event.pii.extend(common_pb2.PiiSpan(kind=s.kind, span=common_pb2.Span(start=s.start, end=s.end)) for s in pii)
    event.hidden_text.extend(
        common_pb2.HiddenText(reason=h.reason, text=h.text, page=h.page) for h in extracted.hidden_text
    )
    submitted = Timestamp()
    submitted.FromDatetime(submission.submitted_at or utcnow())
    event.submitted_at.CopyFrom(submitted)
    return event
