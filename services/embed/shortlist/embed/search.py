"""Semantic search over stored CV chunks, grouped by application.

The store answers nearest chunks; an application's score is the similarity of its best chunk, which is
also the chunk shown. To fill ``limit`` applications the store is asked for several chunks per
application, growing the request while it comes back full but short of applications.
"""

from dataclasses import dataclass

import numpy as np

from shortlist.embed.embedder import Vectors
from shortlist.embed.store import ChunkHit, VectorStore

_CHUNKS_PER_APPLICATION = 5
_MAX_CHUNKS = 5_000


@dataclass(frozen=True)
class CandidateHit:
    application_id: str
    job_id: str
    candidate_id: str
    score: float
    """Cosine similarity of the best chunk, in [-1, 1]."""
    best: ChunkHit
    matching_chunks: int
    """Chunks of this application among those the store returned."""


async def search_candidates(
    store: VectorStore,
    vector: Vectors,
    limit: int,
    *,
    job_id: str | None = None,
    section: str | None = None,
    exclude_application: str | None = None,
    exclude_candidate: str | None = None,
) -> list[CandidateHit]:
    fetch = max(limit * _CHUNKS_PER_APPLICATION, 50)
    while True:
        hits = await store.search_chunks(
            vector,
            fetch,
            job_id=job_id,
            section=section,
            exclude_application=exclude_application,
            exclude_candidate=exclude_candidate,
        )
        groups = group_by_application(hits)
        if len(groups) >= limit or len(hits) < fetch or fetch >= _MAX_CHUNKS:
            return groups[:limit]
        fetch = min(fetch * 4, _MAX_CHUNKS)


async def similar_applications(store: VectorStore, application_id: str, limit: int) -> list[CandidateHit] | None:
    """Applications of other candidates closest to the mean chunk vector of ``application_id`` (None: unknown)."""
    chunks, vectors = await store.application_chunks(application_id)
    if not chunks:
        return None
    centre = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    if norm > 0:
        centre = centre / norm
    return await search_candidates(
        store,
        centre.astype(np.float32),
        limit,
        exclude_application=application_id,
        exclude_candidate=chunks[0].candidate_id or None,
    )


def group_by_application(hits: list[ChunkHit]) -> list[CandidateHit]:
    """One entry per application, in the order of its best chunk (hits come best first)."""
    best: dict[str, ChunkHit] = {}
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.application_id] = counts.get(hit.application_id, 0) + 1
        current = best.get(hit.application_id)
        if current is None or hit.similarity > current.similarity:
            best[hit.application_id] = hit
    groups = [
        CandidateHit(h.application_id, h.job_id, h.candidate_id, h.similarity, h, counts[h.application_id])
        for h in best.values()
    ]
    groups.sort(key=lambda g: -g.score)
    return groups
