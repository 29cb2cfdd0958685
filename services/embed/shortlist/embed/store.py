"""The vector store of embed: CV chunks and job requirements, with deterministic point ids.

``VectorStore`` is the interface; ``shortlist.embed.stores`` holds the two implementations (the Qdrant
server through qdrant-client, and Qdrant Edge in process) and ``open_store`` that picks one from the
settings. What both share, the point ids and payloads, lives here.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from shortlist.embed.chunking import Chunk
from shortlist.embed.embedder import Vectors

CV_CHUNKS = "cv_chunks"
JOB_REQUIREMENTS = "job_requirements"
INDEXED_FIELDS = {
    CV_CHUNKS: ("application_id", "job_id", "candidate_id", "section"),
    JOB_REQUIREMENTS: ("job_id",),
}
_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-5d57-9a43-3c1f3f0e7b21")


LEGACY_EMBEDDER = "minilm"
"""What made the vectors of a store written before embedder ids were stored (the only 384-d embedder then)."""


class EmbedderMismatch(RuntimeError):
    """The store holds vectors of another embedder: they cannot be compared with this embedder's."""

    def __init__(self, collection: str, stored: str, current: str, where: str) -> None:
        super().__init__(
            f"collection {collection} at {where} holds vectors of embedder {stored!r}, but this service embeds with "
            f"{current!r}; vectors of different embedders cannot be compared. Set SHORTLIST_EMBEDDER to the "
            f"store's embedder, or point the service at an empty store (move the old one aside) and resubmit the CVs."
        )


def check_embedder(collection: str, stored: str | None, current: str | None, dimension: int, where: str) -> None:
    """Refuse a collection that holds vectors of another embedder (``stored`` None: written before ids were kept)."""
    if current is None:
        return
    if stored is None:
        stored = LEGACY_EMBEDDER if dimension == 384 else current
    if stored != current:
        raise EmbedderMismatch(collection, stored, current, where)


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


@dataclass(frozen=True)
class ChunkHit:
    """A stored chunk found by a search, with its cosine similarity to the query."""

    chunk_id: str
    application_id: str
    job_id: str
    candidate_id: str
    section: str
    chunk_index: int
    start: int
    end: int
    text: str
    """The redacted chunk text."""
    similarity: float


class VectorStore(Protocol):
    """Chunks of CVs (collection ``cv_chunks``) and requirements of jobs (``job_requirements``).

    Every write is idempotent: points are upserted by deterministic ids, so a replay leaves the same points.
    """

    dimension: int
    embedder_id: str | None
    """The embedder whose vectors the store holds, kept with each collection (None: not checked)."""

    async def start(self) -> None:
        """Open the store, creating the collections and payload indexes when missing.

        Raises ``EmbedderMismatch`` when a collection holds vectors of another embedder.
        """

    async def close(self) -> None: ...

    async def put_job(self, job: StoredJob) -> bool:
        """Store a job version's requirement vectors, replacing older versions. False: a newer one is stored."""

    async def get_job(self, job_id: str) -> StoredJob | None: ...

    async def put_chunks(self, cv: CvRef, chunks: Sequence[Chunk], texts: Sequence[str], vectors: Vectors) -> None:
        """Upsert a CV's chunks (``texts`` are what is stored and shown: the redacted chunk texts).

        Chunks left over from a longer earlier version of the same application are deleted.
        """

    async def count_chunks(self, application_id: str | None = None) -> int: ...

    async def delete_candidate(self, candidate_id: str, application_ids: Sequence[str] = ()) -> int:
        """Delete every chunk of the candidate (and of the given applications); the number of points deleted."""

    async def search_chunks(
        self,
        vector: Vectors,
        limit: int,
        *,
        job_id: str | None = None,
        section: str | None = None,
        exclude_application: str | None = None,
        exclude_candidate: str | None = None,
    ) -> list[ChunkHit]:
        """The ``limit`` chunks most similar to ``vector`` (one row), best first, within the filters."""

    async def application_chunks(self, application_id: str) -> tuple[list[ChunkHit], Vectors]:
        """All chunks of an application in order (similarity 0) and their vectors."""


def chunk_payload(cv: CvRef, chunk: Chunk, text: str) -> dict[str, Any]:
    return {
        "application_id": cv.application_id,
        "job_id": cv.job_id,
        "candidate_id": cv.candidate_id,
        "section": chunk.section,
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "text": text,
    }


def chunk_hit(point_id: object, similarity: float, payload: Mapping[str, Any] | None) -> ChunkHit:
    p = payload or {}
    return ChunkHit(
        chunk_id=str(point_id),
        application_id=str(p.get("application_id", "")),
        job_id=str(p.get("job_id", "")),
        candidate_id=str(p.get("candidate_id", "")),
        section=str(p.get("section", "")),
        chunk_index=int(p.get("chunk_index", 0)),
        start=int(p.get("start", 0)),
        end=int(p.get("end", 0)),
        text=str(p.get("text", "")),
        similarity=float(similarity),
    )


def requirement_payloads(job: StoredJob) -> list[tuple[str, dict[str, Any], list[float]]]:
    """(point id, payload, vector) of each requirement of ``job``."""
    return [
        (
            requirement_point_id(job.job_id, requirement.id),
            {
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
            vector.tolist(),
        )
        for position, (requirement, vector) in enumerate(zip(job.requirements, job.vectors, strict=True))
    ]


def job_from_points(job_id: str, points: Iterable[tuple[Mapping[str, Any], Sequence[float]]]) -> StoredJob | None:
    """The newest version among a job's stored requirement points (payload, vector), or None when there are none."""
    records = list(points)
    if not records:
        return None
    # Between the upsert of a new version and the delete of the old one both may be present.
    version = max(int(payload["version"]) for payload, _ in records)
    current = sorted((r for r in records if int(r[0]["version"]) == version), key=lambda r: int(r[0]["position"]))
    first = current[0][0]
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
            for p, _ in current
        ],
        vectors=np.asarray([v for _, v in current], dtype=np.float32),
    )
