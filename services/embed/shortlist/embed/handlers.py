"""The embed step: job requirements into Qdrant, CV chunks into Qdrant, evidence per requirement out.

Chunk texts, what is stored in Qdrant and what ``CvEmbedded`` carries, are redacted: spans are cut from
``CvIngested.text`` (so ``EvidenceChunk.span`` points into that text) and every PII span ingest found in
a chunk is replaced by ``[KIND]`` (``[EMAIL]``, ``[PHONE]``, ...). The model embeds the redacted text too,
so neither the vectors nor anything downstream hold the candidate's contact details.
"""

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.message import Message
from opentelemetry import trace

from shortlist.embed import metrics as embed_metrics
from shortlist.embed.batching import MicroBatcher
from shortlist.embed.chunking import Chunk, PiiRange, SectionSpan, chunk_text, redact
from shortlist.embed.config import Settings
from shortlist.embed.embedder import Embedder
from shortlist.embed.evidence import top_chunks
from shortlist.embed.local_model import LocalModel
from shortlist.embed.parking import ParkedCv, ParkingLot
from shortlist.embed.store import CvRef, StoredJob, StoredRequirement, VectorStore, chunk_point_id
from shortlist.runtime import metrics
from shortlist.runtime.dlt import dead_letter_record
from shortlist.runtime.errors import PermanentError, TransientError
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.runtime.tracing import extract_context
from shortlist.v1 import common_pb2, cv_pb2, jobs_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("shortlist.embed.handlers")

_EVENT_NAMESPACE = uuid.UUID("0b6f7c1e-3f0a-5e8e-b7a2-6c5d9e1f2a34")
_KINDS = {common_pb2.REQUIREMENT_KIND_MUST: "must", common_pb2.REQUIREMENT_KIND_NICE: "nice"}
_KIND_VALUES = {"must": common_pb2.REQUIREMENT_KIND_MUST, "nice": common_pb2.REQUIREMENT_KIND_NICE}
_DEFAULT_WEIGHT = {"must": 1.0, "nice": 0.5}

M = TypeVar("M", bound=Message)


class EmbedHandlers:
    """Handlers of ``jobs.posted.v1`` and ``cv.ingested.v1``; ``start()`` before use, ``stop()`` after."""

    def __init__(self, settings: Settings, embedder: Embedder, store: VectorStore, producer: EventProducer) -> None:
        self._settings = settings
        self._embedder = embedder
        self._store = store
        self._producer = producer
        self._batcher = MicroBatcher(
            embedder.aembed,
            embedder.dimension,
            batch_size=embedder.batch_size,
            linger_seconds=settings.embed_linger_ms / 1000,
            max_texts=settings.embed_max_call_texts,
            measure=embedder.token_counts if isinstance(embedder, LocalModel) else None,
            window=settings.embed_window_texts,
            concurrency=embedder.workers if isinstance(embedder, LocalModel) else 1,
        )
        self._parking = ParkingLot(settings.state_path("embed-parked.sqlite"))
        self._parked: set[str] = set()
        self._completing: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def batcher(self) -> MicroBatcher:
        return self._batcher

    @property
    def parking(self) -> ParkingLot:
        return self._parking

    async def start(self) -> None:
        await self._parking.start()
        self._parked = {p.application_id for p in await self._parking.all()}
        embed_metrics.PARKED_CVS.set(len(self._parked))
        await self._batcher.start()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="parked CVs")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await self._batcher.stop()
        await self._parking.close()
        await self._embedder.close()

    async def on_job_posted(self, record: Record) -> None:
        job = _expect(record.message, jobs_pb2.JobPosted)
        if not job.job_id:
            raise PermanentError("invalid_event", "JobPosted has no job_id")
        requirements = job_requirements(job)
        if not requirements:
            raise PermanentError("no_requirements", f"job {job.job_id} version {job.version} has no requirements")
        vectors = await self._batcher.embed([r.text for r in requirements])
        stored = StoredJob(
            job_id=job.job_id,
            version=job.version,
            title=job.title,
            advance_threshold=job.advance_threshold,
            reject_threshold=job.reject_threshold,
            requirements=requirements,
            vectors=vectors,
        )
        if await self._store.put_job(stored):
            log.info("stored %d requirements of job %s v%d", len(requirements), job.job_id, job.version)
            current: StoredJob | None = stored
        else:
            log.info("ignored job %s v%d: a newer version is stored", job.job_id, job.version)
            current = await self._store.get_job(job.job_id)
        if current is not None:
            # CVs that arrived before their job; what fails here is left to the sweeper.
            parked = await self._parking.for_job(job.job_id)
            await asyncio.gather(*(self._complete_parked(p, current) for p in parked))

    async def on_cv_ingested(self, record: Record) -> None:
        cv = _expect(record.message, cv_pb2.CvIngested)
        if not cv.application_id or not cv.job_id:
            raise PermanentError("invalid_event", "CvIngested needs application_id and job_id")
        if not cv.text.strip():
            raise PermanentError("empty_text", f"application {cv.application_id} has no text")
        if cv.application_id in self._parked:
            await self._parking.discard(cv.application_id)  # this newer record supersedes the parked one
            self._forget(cv.application_id)
        job = await self._store.get_job(cv.job_id)
        if job is None:
            parked = await self._park(record, cv)
            # The job may have been stored between the lookup and the parking: then nobody else takes it.
            job = await self._store.get_job(cv.job_id)
            if job is not None:
                await self._complete_parked(parked, job)
            return
        await self._complete(cv, record.envelope.id, job)

    async def sweep(self) -> None:
        """Complete parked CVs whose job is known by now; dead-letter those that waited too long."""
        waiting: dict[str, list[ParkedCv]] = {}
        for parked in await self._parking.all():
            waiting.setdefault(parked.job_id, []).append(parked)
        now = time.time()
        for job_id, cvs in waiting.items():
            job = await self._store.get_job(job_id)
            if job is not None:
                await asyncio.gather(*(self._complete_parked(p, job) for p in cvs))
                continue
            for parked in cvs:
                waited = now - parked.parked_at
                if (
                    waited >= self._settings.unknown_job_max_wait_seconds
                    and parked.application_id not in self._completing
                ):
                    await self._dead_letter(parked, "unknown_job", f"job {job_id} was not known after {waited:.0f} s")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.unknown_job_check_seconds)
            try:
                await self.sweep()
            except Exception as exc:
                log.warning("looking at parked CVs failed: %s", type(exc).__name__)

    async def _park(self, record: Record, cv: cv_pb2.CvIngested) -> ParkedCv:
        parked = ParkedCv(
            application_id=cv.application_id,
            job_id=cv.job_id,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.encode() if record.key is not None else None,
            value=cv.SerializeToString(),
            headers=record.headers,
            parked_at=time.time(),
        )
        await self._parking.park(parked)
        self._parked.add(cv.application_id)
        embed_metrics.PARKED_CVS.set(len(self._parked))
        log.info("parked application %s: job %s is not known yet", cv.application_id, cv.job_id)
        return parked

    async def _complete_parked(self, parked: ParkedCv, job: StoredJob) -> None:
        """Embed a parked CV now that its job is known; unpark it when done or dead-lettered."""
        if parked.application_id in self._completing:
            return
        self._completing.add(parked.application_id)
        try:
            cv = cv_pb2.CvIngested()
            cv.ParseFromString(parked.value)
            # The rest of the CV's work joins the trace it came with, not the job's.
            with tracer.start_as_current_span(
                f"{parked.topic} process", context=extract_context(parked.headers), kind=trace.SpanKind.CONSUMER
            ) as span:
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.destination.name", parked.topic)
                span.set_attribute("messaging.kafka.offset", parked.offset)
                span.set_attribute("shortlist.parked_seconds", round(time.time() - parked.parked_at, 3))
                await self._complete(cv, parked.headers.get("ce_id", ""), job)
        except PermanentError as exc:
            await self._dead_letter(parked, exc.code, exc.message)
        except Exception as exc:
            code = exc.code if isinstance(exc, TransientError) else "unexpected_error"
            failures = await self._parking.failed(parked)
            log.warning("parked application %s failed (%d): %s", parked.application_id, failures, code)
            if failures >= self._settings.retry_max_attempts:
                await self._dead_letter(parked, code, f"gave up after {failures} tries: {code}")
        else:
            await self._parking.remove(parked)
            self._forget(parked.application_id)
            log.info("completed parked application %s", parked.application_id)
        finally:
            self._completing.discard(parked.application_id)

    async def _dead_letter(self, parked: ParkedCv, code: str, message: str) -> None:
        """The parked record, unchanged, to ``<topic>-dlt`` with the contract's ``dlt-*`` headers."""
        await dead_letter_record(
            self._producer,
            self._settings.service_name,
            parked.topic,
            parked.partition,
            parked.offset,
            parked.key,
            parked.value,
            [(k, v.encode()) for k, v in parked.headers.items()],
            code,
            message,
        )
        await self._parking.remove(parked)
        self._forget(parked.application_id)

    def _forget(self, application_id: str) -> None:
        self._parked.discard(application_id)
        embed_metrics.PARKED_CVS.set(len(self._parked))

    async def _complete(self, cv: cv_pb2.CvIngested, input_event_id: str, job: StoredJob) -> None:
        chunks, texts = cv_chunks(cv, self._settings)
        vectors = await self._batcher.embed(texts)
        await self._store.put_chunks(CvRef(cv.application_id, cv.job_id, cv.candidate_id), chunks, texts, vectors)
        embed_metrics.CHUNKS_EMBEDDED.inc(len(chunks))

        embedded = cv_pb2.CvEmbedded(
            application_id=cv.application_id,
            job_id=cv.job_id,
            job_version=job.version,
            candidate_id=cv.candidate_id,
            redacted_text=cv.redacted_text,
            parse_quality=cv.parse_quality,
            chunk_count=len(chunks),
            embedding_model=self._embedder.model_name,
            job_title=job.title,
            advance_threshold=job.advance_threshold,
            reject_threshold=job.reject_threshold,
        )
        embedded.sections.extend(cv.sections)
        embedded.hidden_text.extend(cv.hidden_text)
        if cv.HasField("submitted_at"):
            embedded.submitted_at.CopyFrom(cv.submitted_at)
        evidence = top_chunks(job.vectors, vectors, self._settings.evidence_top_k)
        for requirement, matches in zip(job.requirements, evidence, strict=True):
            item = embedded.evidence.add()
            item.requirement.CopyFrom(requirement_message(requirement))
            for match in matches:
                chunk = chunks[match.chunk]
                item.chunks.add(
                    chunk_id=chunk_point_id(cv.application_id, chunk.index),
                    section=chunk.section,
                    span=common_pb2.Span(start=chunk.start, end=chunk.end),
                    text=texts[match.chunk],
                    similarity=match.similarity,
                )
        # The same input record always yields the same ce_id, so a replay is recognisable downstream.
        event_id = str(uuid.uuid5(_EVENT_NAMESPACE, f"cv.embedded:{input_event_id}"))
        await self._producer.publish(embedded, key=cv.application_id, event_id=event_id)
        if cv.HasField("submitted_at"):
            elapsed = (datetime.now(UTC) - cv.submitted_at.ToDatetime(tzinfo=UTC)).total_seconds()
            metrics.END_TO_END_SECONDS.labels("embedded").observe(max(0.0, elapsed))
        log.info("embedded application %s: %d chunks", cv.application_id, len(chunks))


def cv_chunks(cv: cv_pb2.CvIngested, settings: Settings) -> tuple[list[Chunk], list[str]]:
    """The CV's chunks and their texts with PII redacted: what the service embeds and stores."""
    chunks = chunk_text(
        cv.text,
        [SectionSpan(x.name, x.span.start, x.span.end) for x in cv.sections],
        max_words=settings.chunk_max_words,
        overlap_words=settings.chunk_overlap_words,
    )
    pii = [PiiRange(p.kind, p.span.start, p.span.end) for p in cv.pii]
    return chunks, [redact(cv.text, c.start, c.end, pii) for c in chunks]


def job_requirements(job: jobs_pb2.JobPosted) -> list[StoredRequirement]:
    """The job's requirements with the contract's defaults (id ``<job>-r<n>``, kind must, weight by kind)."""
    result: list[StoredRequirement] = []
    for index, requirement in enumerate(job.requirements, start=1):
        text = requirement.text.strip()
        if not text:
            continue
        kind = _KINDS.get(requirement.kind, "must")
        result.append(
            StoredRequirement(
                id=requirement.id or f"{job.job_id}-r{index}",
                text=text,
                kind=kind,
                weight=requirement.weight or _DEFAULT_WEIGHT[kind],
            )
        )
    return result


def requirement_message(requirement: StoredRequirement) -> common_pb2.Requirement:
    return common_pb2.Requirement(
        id=requirement.id,
        text=requirement.text,
        kind=_KIND_VALUES.get(requirement.kind, common_pb2.REQUIREMENT_KIND_MUST),
        weight=requirement.weight,
    )


def _expect(message: Message, kind: type[M]) -> M:
    if not isinstance(message, kind):
        raise PermanentError("unexpected_event", f"expected {kind.__name__}, got {type(message).__name__}")
    return message
