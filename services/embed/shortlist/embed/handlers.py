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

from shortlist.embed import metrics as embed_metrics
from shortlist.embed.chunking import PiiRange, SectionSpan, chunk_text, redact
from shortlist.embed.config import Settings
from shortlist.embed.embedder import Embedder, Vectors
from shortlist.embed.evidence import top_chunks
from shortlist.embed.store import CvRef, StoredJob, StoredRequirement, VectorStore, chunk_point_id
from shortlist.runtime import metrics
from shortlist.runtime.errors import PermanentError, TransientError
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.v1 import common_pb2, cv_pb2, jobs_pb2

log = logging.getLogger(__name__)

_EVENT_NAMESPACE = uuid.UUID("0b6f7c1e-3f0a-5e8e-b7a2-6c5d9e1f2a34")
_KINDS = {common_pb2.REQUIREMENT_KIND_MUST: "must", common_pb2.REQUIREMENT_KIND_NICE: "nice"}
_KIND_VALUES = {"must": common_pb2.REQUIREMENT_KIND_MUST, "nice": common_pb2.REQUIREMENT_KIND_NICE}
_DEFAULT_WEIGHT = {"must": 1.0, "nice": 0.5}

M = TypeVar("M", bound=Message)


class EmbedHandlers:
    def __init__(self, settings: Settings, embedder: Embedder, store: VectorStore, producer: EventProducer) -> None:
        self._settings = settings
        self._embedder = embedder
        self._store = store
        self._producer = producer

    async def on_job_posted(self, record: Record) -> None:
        job = _expect(record.message, jobs_pb2.JobPosted)
        if not job.job_id:
            raise PermanentError("invalid_event", "JobPosted has no job_id")
        requirements = job_requirements(job)
        if not requirements:
            raise PermanentError("no_requirements", f"job {job.job_id} version {job.version} has no requirements")
        vectors = await self._embed([r.text for r in requirements])
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
        else:
            log.info("ignored job %s v%d: a newer version is stored", job.job_id, job.version)

    async def on_cv_ingested(self, record: Record) -> None:
        cv = _expect(record.message, cv_pb2.CvIngested)
        if not cv.application_id or not cv.job_id:
            raise PermanentError("invalid_event", "CvIngested needs application_id and job_id")
        if not cv.text.strip():
            raise PermanentError("empty_text", f"application {cv.application_id} has no text")
        job = await self._store.get_job(cv.job_id)
        if job is None:
            raise TransientError(
                "unknown_job", f"job {cv.job_id} is not known yet", max_attempts=self._settings.unknown_job_max_attempts
            )
        s = self._settings
        chunks = chunk_text(
            cv.text,
            [SectionSpan(x.name, x.span.start, x.span.end) for x in cv.sections],
            max_words=s.chunk_max_words,
            overlap_words=s.chunk_overlap_words,
        )
        pii = [PiiRange(p.kind, p.span.start, p.span.end) for p in cv.pii]
        texts = [redact(cv.text, c.start, c.end, pii) for c in chunks]
        vectors = await self._embed(texts)
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
        evidence = top_chunks(job.vectors, vectors, s.evidence_top_k)
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
        event_id = str(uuid.uuid5(_EVENT_NAMESPACE, f"cv.embedded:{record.envelope.id}"))
        await self._producer.publish(embedded, key=cv.application_id, event_id=event_id)
        if cv.HasField("submitted_at"):
            elapsed = (datetime.now(UTC) - cv.submitted_at.ToDatetime(tzinfo=UTC)).total_seconds()
            metrics.END_TO_END_SECONDS.labels("embedded").observe(max(0.0, elapsed))
        log.info("embedded application %s: %d chunks", cv.application_id, len(chunks))

    async def _embed(self, texts: list[str]) -> Vectors:
        started = time.perf_counter()
        vectors = await asyncio.to_thread(self._embedder.embed, texts)
        embed_metrics.EMBED_SECONDS.observe(time.perf_counter() - started)
        return vectors


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
