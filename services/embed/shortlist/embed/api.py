"""Search routes of embed: free-text search over candidates and similar candidates."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shortlist.embed.embedder import Embedder
from shortlist.embed.metrics import SEARCH_SECONDS
from shortlist.embed.search import CandidateHit, search_candidates, similar_applications
from shortlist.embed.store import VectorStore
from shortlist.runtime.http import ApiError

router = APIRouter(prefix="/v1", tags=["search"])

MAX_LIMIT = 100


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    job_id: str | None = Field(default=None, min_length=1, max_length=200)
    section: str | None = Field(default=None, min_length=1, max_length=100)
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)

    @field_validator("query")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the query is blank")
        return value.strip()


@router.post("/search")
async def search(body: SearchRequest, request: Request) -> dict[str, Any]:
    """Applications whose CV chunks are closest to the query, best first, each with its best chunk."""
    embedder: Embedder = request.app.state.embedder
    with SEARCH_SECONDS.labels("text").time():
        vectors = await embedder.aembed([body.query])
        section = body.section.lower() if body.section else None
        hits = await search_candidates(_store(request), vectors[0], body.limit, job_id=body.job_id, section=section)
    return {
        "query": body.query,
        "job_id": body.job_id,
        "section": body.section,
        "items": [_item(h) for h in hits],
    }


@router.get("/applications/{application_id}/similar")
async def similar(
    application_id: str, request: Request, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10
) -> dict[str, Any]:
    """Applications of other candidates whose CVs are closest to this one (by the mean of its chunk vectors)."""
    with SEARCH_SECONDS.labels("similar").time():
        hits = await similar_applications(_store(request), application_id, limit)
    if hits is None:
        raise ApiError(404, "application_not_found", "no chunks are stored for this application")
    return {"application_id": application_id, "items": [_item(h) for h in hits]}


def _store(request: Request) -> VectorStore:
    store: VectorStore = request.app.state.store
    return store


def _item(hit: CandidateHit) -> dict[str, Any]:
    chunk = hit.best
    return {
        "application_id": hit.application_id,
        "job_id": hit.job_id,
        "candidate_id": hit.candidate_id,
        "score": round(hit.score, 6),
        "matching_chunks": hit.matching_chunks,
        "best_chunk": {
            "chunk_id": chunk.chunk_id,
            "section": chunk.section,
            "span": {"start": chunk.start, "end": chunk.end},
            "text": chunk.text,
            "similarity": round(chunk.similarity, 6),
        },
    }
