"""Qdrant collections of embed: CV chunks and job requirements, with deterministic point ids.

qdrant-client runs against a Qdrant server when a URL is given and in local mode (on disk, in process)
otherwise. Its calls block, so every method runs the client in a worker thread, one call at a time.
"""

import asyncio
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from shortlist.embed.chunking import Chunk
from shortlist.embed.embedder import Vectors
from shortlist.runtime.errors import TransientError

CV_CHUNKS = "cv_chunks"
JOB_REQUIREMENTS = "job_requirements"
INDEXED_FIELDS = {
    CV_CHUNKS: ("application_id", "job_id", "candidate_id", "section"),
    JOB_REQUIREMENTS: ("job_id",),
}
_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-5d57-9a43-3c1f3f0e7b21")
_PAGE = 256

T = TypeVar("T")


def chunk_point_id(application_id: str, index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"chunk:{application_id}:{index}"))


def requirement_point_id(job_id: str, requirement_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"requirement:{job_id}:{requirement_id}"))


@dataclass(frozen=True)
class StoredRequirement:
    id: str
    text: str
    kind: str
    """``must`` or ``nice``."""
    weight: float


@dataclass(frozen=True)
class StoredJob:
    job_id: str
    version: int
    title: str
    advance_threshold: float
    reject_threshold: float
    requirements: list[StoredRequirement]
    vectors: Vectors
    """One row per requirement, in the same order."""


@dataclass(frozen=True)
class CvRef:
    application_id: str
    job_id: str
    candidate_id: str


def _match(field: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=field, match=models.MatchValue(value=value))


class VectorStore:
    def __init__(self, dimension: int, path: Path | None = None, url: str | None = None, api_key: str | None = None):
        if (path is None) == (url is None):
            raise ValueError("give either a local path or a server url")
        self.dimension = dimension
        self._path = path
        self._url = url
        self._api_key = api_key
        self._client: QdrantClient | None = None
        self._lock = threading.Lock()

    @property
    def is_local(self) -> bool:
        return self._url is None

    async def start(self) -> None:
        await asyncio.to_thread(self._open)

    async def close(self) -> None:
        if self._client is not None:
            await self._run(lambda c: c.close())
            self._client = None

    async def put_job(self, job: StoredJob) -> bool:
        """Store a job version's requirement vectors, replacing older versions. False: a newer one is stored."""
        return await self._run(lambda c: self._put_job(c, job))

    async def get_job(self, job_id: str) -> StoredJob | None:
        return await self._run(lambda c: self._get_job(c, job_id))

    async def put_chunks(self, cv: CvRef, chunks: Sequence[Chunk], texts: Sequence[str], vectors: Vectors) -> None:
        """Upsert a CV's chunks (``texts`` are what is stored and shown: the redacted chunk texts)."""
        points = [
            models.PointStruct(
                id=chunk_point_id(cv.application_id, chunk.index),
                vector=vector.tolist(),
                payload={
                    "application_id": cv.application_id,
                    "job_id": cv.job_id,
                    "candidate_id": cv.candidate_id,
                    "section": chunk.section,
                    "chunk_index": chunk.index,
                    "start": chunk.start,
                    "end": chunk.end,
                    "text": text,
                },
            )
            for chunk, text, vector in zip(chunks, texts, vectors, strict=True)
        ]
        stale = models.Filter(
            must=[
                _match("application_id", cv.application_id),
                models.FieldCondition(key="chunk_index", range=models.Range(gte=len(points))),
            ]
        )

        def write(client: QdrantClient) -> None:
            if points:
                client.upsert(CV_CHUNKS, points=points)
            client.delete(CV_CHUNKS, points_selector=models.FilterSelector(filter=stale))

        await self._run(write)

    async def count_chunks(self, application_id: str | None = None) -> int:
        flt = models.Filter(must=[_match("application_id", application_id)]) if application_id else None
        return await self._run(lambda c: c.count(CV_CHUNKS, count_filter=flt, exact=True).count)

    async def delete_candidate(self, candidate_id: str) -> None:
        selector = models.FilterSelector(filter=models.Filter(must=[_match("candidate_id", candidate_id)]))
        await self._run(lambda c: c.delete(CV_CHUNKS, points_selector=selector))

    async def _run(self, call: Callable[[QdrantClient], T]) -> T:
        def locked() -> T:
            with self._lock:
                if self._client is None:
                    raise RuntimeError("the vector store is not started")
                try:
                    return call(self._client)
                except ResponseHandlingException as exc:
                    raise TransientError("store_unavailable", "Qdrant did not answer") from exc
                except UnexpectedResponse as exc:
                    if exc.status_code is not None and exc.status_code >= 500:
                        raise TransientError("store_unavailable", f"Qdrant answered {exc.status_code}") from exc
                    raise

        return await asyncio.to_thread(locked)

    def _open(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            if self._path is not None:
                self._path.mkdir(parents=True, exist_ok=True)
                client = QdrantClient(path=str(self._path))
            else:
                client = QdrantClient(url=self._url, api_key=self._api_key)
            for name, fields in INDEXED_FIELDS.items():
                self._ensure_collection(client, name, fields)
            self._client = client

    def _ensure_collection(self, client: QdrantClient, name: str, fields: tuple[str, ...]) -> None:
        if client.collection_exists(name):
            size = _vector_size(client.get_collection(name).config.params.vectors)
            if size != self.dimension:
                raise RuntimeError(f"collection {name} holds {size}-d vectors, the embedder makes {self.dimension}-d")
            return
        client.create_collection(
            name, vectors_config=models.VectorParams(size=self.dimension, distance=models.Distance.COSINE)
        )
        if not self.is_local:  # local mode has no payload indexes
            for field in fields:
                client.create_payload_index(name, field, models.PayloadSchemaType.KEYWORD)

    def _put_job(self, client: QdrantClient, job: StoredJob) -> bool:
        stored = self._get_job(client, job.job_id)
        if stored is not None and stored.version > job.version:
            return False
        points = [
            models.PointStruct(
                id=requirement_point_id(job.job_id, requirement.id),
                vector=vector.tolist(),
                payload={
                    "job_id": job.job_id,
                    "version": job.version,
                    "position": position,
                    "requirement_id": requirement.id,
                    "text": requirement.text,
                    "kind": requirement.kind,
                    "weight": requirement.weight,
                    "title": job.title,
                    "advance_threshold": job.advance_threshold,
                    "reject_threshold": job.reject_threshold,
                },
            )
            for position, (requirement, vector) in enumerate(zip(job.requirements, job.vectors, strict=True))
        ]
        client.upsert(JOB_REQUIREMENTS, points=points)
        older = models.Filter(
            must=[_match("job_id", job.job_id)],
            must_not=[models.FieldCondition(key="version", match=models.MatchValue(value=job.version))],
        )
        client.delete(JOB_REQUIREMENTS, points_selector=models.FilterSelector(filter=older))
        return True

    def _get_job(self, client: QdrantClient, job_id: str) -> StoredJob | None:
        records: list[models.Record] = []
        offset: Any = None
        while True:
            page, offset = client.scroll(
                JOB_REQUIREMENTS,
                scroll_filter=models.Filter(must=[_match("job_id", job_id)]),
                limit=_PAGE,
                offset=offset,
                with_payload=True,
                with_vectors=True,
            )
            records.extend(page)
            if offset is None:
                break
        if not records:
            return None
        # Between the upsert of a new version and the delete of the old one both may be present.
        version = max(int((r.payload or {})["version"]) for r in records)
        current = sorted(
            (r for r in records if (r.payload or {})["version"] == version),
            key=lambda r: int((r.payload or {})["position"]),
        )
        first = current[0].payload or {}
        return StoredJob(
            job_id=job_id,
            version=version,
            title=str(first.get("title", "")),
            advance_threshold=float(first.get("advance_threshold", 0.0)),
            reject_threshold=float(first.get("reject_threshold", 0.0)),
            requirements=[
                StoredRequirement(
                    id=str(p["requirement_id"]), text=str(p["text"]), kind=str(p["kind"]), weight=float(p["weight"])
                )
                for p in (r.payload or {} for r in current)
            ],
            vectors=np.asarray([r.vector for r in current], dtype=np.float32),
        )


def _vector_size(params: Any) -> int | None:
    if isinstance(params, models.VectorParams):
        return params.size
    return None
