"""The vector store on a Qdrant server through qdrant-client (``SHORTLIST_QDRANT_URL``).

Given a path instead of a URL, qdrant-client runs in local mode (on disk, in process): the tests use it
as a stand-in for the server API. Its calls block, so every method runs the client in a worker thread,
one call at a time.
"""

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from shortlist.embed.chunking import Chunk
from shortlist.embed.embedder import Vectors
from shortlist.embed.store import (
    CV_CHUNKS,
    INDEXED_FIELDS,
    JOB_REQUIREMENTS,
    ChunkHit,
    CvRef,
    StoredJob,
    check_embedder,
    chunk_hit,
    chunk_payload,
    chunk_point_id,
    job_from_points,
    requirement_payloads,
)
from shortlist.runtime.errors import TransientError

_PAGE = 256

T = TypeVar("T")
EMBEDDER_KEY = "shortlist_embedder"
"""Collection metadata: the embedder whose vectors the collection holds."""


def _match(field: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=field, match=models.MatchValue(value=value))


class QdrantServerStore:
    def __init__(
        self,
        dimension: int,
        path: Path | None = None,
        url: str | None = None,
        api_key: str | None = None,
        embedder_id: str | None = None,
    ):
        if (path is None) == (url is None):
            raise ValueError("give either a local path or a server url")
        self.dimension = dimension
        self.embedder_id = embedder_id
        self._path = path
        self._url = url
        self._api_key = api_key
        self._client: QdrantClient | None = None
        self._lock = threading.Lock()

    @property
    def _where(self) -> str:
        return str(self._path) if self._path is not None else str(self._url)

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
        return await self._run(lambda c: self._put_job(c, job))

    async def get_job(self, job_id: str) -> StoredJob | None:
        return await self._run(lambda c: self._get_job(c, job_id))

    async def put_chunks(self, cv: CvRef, chunks: Sequence[Chunk], texts: Sequence[str], vectors: Vectors) -> None:
        points = [
            models.PointStruct(
                id=chunk_point_id(cv.application_id, chunk.index),
                vector=vector.tolist(),
                payload=chunk_payload(cv, chunk, text),
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

    async def delete_candidate(self, candidate_id: str, application_ids: Sequence[str] = ()) -> int:
        should: list[models.Condition] = [_match("candidate_id", candidate_id)] if candidate_id else []
        should += [_match("application_id", a) for a in application_ids if a]
        if not should:
            return 0
        flt = models.Filter(should=should)

        def delete(client: QdrantClient) -> int:
            count = client.count(CV_CHUNKS, count_filter=flt, exact=True).count
            client.delete(CV_CHUNKS, points_selector=models.FilterSelector(filter=flt))
            return count

        return await self._run(delete)

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
        must: list[models.Condition] = [_match(k, v) for k, v in (("job_id", job_id), ("section", section)) if v]
        must_not: list[models.Condition] = [
            _match(k, v) for k, v in (("application_id", exclude_application), ("candidate_id", exclude_candidate)) if v
        ]
        flt = models.Filter(must=must or None, must_not=must_not or None) if must or must_not else None
        query = np.asarray(vector, dtype=np.float32).reshape(-1).tolist()
        response = await self._run(
            lambda c: c.query_points(CV_CHUNKS, query=query, query_filter=flt, limit=limit, with_payload=True)
        )
        return [chunk_hit(p.id, p.score, p.payload) for p in response.points]

    async def application_chunks(self, application_id: str) -> tuple[list[ChunkHit], Vectors]:
        records = await self._run(lambda c: self._scroll(c, CV_CHUNKS, _match("application_id", application_id)))
        records.sort(key=lambda r: int((r.payload or {}).get("chunk_index", 0)))
        hits = [chunk_hit(r.id, 0.0, r.payload) for r in records]
        vectors = np.asarray([r.vector for r in records], dtype=np.float32).reshape(len(records), self.dimension)
        return hits, vectors

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
            try:
                for name, fields in INDEXED_FIELDS.items():
                    self._ensure_collection(client, name, fields)
            except BaseException:
                client.close()  # local mode holds a lock on its folder until closed
                raise
            self._client = client

    def _ensure_collection(self, client: QdrantClient, name: str, fields: tuple[str, ...]) -> None:
        if client.collection_exists(name):
            config = client.get_collection(name).config
            size = _vector_size(config.params.vectors)
            if size != self.dimension:
                raise RuntimeError(f"collection {name} holds {size}-d vectors, the embedder makes {self.dimension}-d")
            stored = (config.metadata or {}).get(EMBEDDER_KEY)
            check_embedder(name, str(stored) if stored else None, self.embedder_id, self.dimension, self._where)
            if stored is None and self.embedder_id is not None:
                client.update_collection(name, metadata={EMBEDDER_KEY: self.embedder_id})
            return
        client.create_collection(
            name,
            vectors_config=models.VectorParams(size=self.dimension, distance=models.Distance.COSINE),
            metadata={EMBEDDER_KEY: self.embedder_id} if self.embedder_id else None,
        )
        if not self.is_local:  # local mode has no payload indexes
            for field in fields:
                client.create_payload_index(name, field, models.PayloadSchemaType.KEYWORD)

    def _put_job(self, client: QdrantClient, job: StoredJob) -> bool:
        stored = self._get_job(client, job.job_id)
        if stored is not None and stored.version > job.version:
            return False
        points = [
            models.PointStruct(id=point_id, vector=vector, payload=payload)
            for point_id, payload, vector in requirement_payloads(job)
        ]
        client.upsert(JOB_REQUIREMENTS, points=points)
        older = models.Filter(
            must=[_match("job_id", job.job_id)],
            must_not=[models.FieldCondition(key="version", match=models.MatchValue(value=job.version))],
        )
        client.delete(JOB_REQUIREMENTS, points_selector=models.FilterSelector(filter=older))
        return True

    def _get_job(self, client: QdrantClient, job_id: str) -> StoredJob | None:
        records = self._scroll(client, JOB_REQUIREMENTS, _match("job_id", job_id))
        return job_from_points(job_id, ((r.payload or {}, _dense(r.vector)) for r in records))

    def _scroll(self, client: QdrantClient, collection: str, condition: models.FieldCondition) -> list[models.Record]:
        records: list[models.Record] = []
        offset: Any = None
        while True:
            page, offset = client.scroll(
                collection,
                scroll_filter=models.Filter(must=[condition]),
                limit=_PAGE,
                offset=offset,
                with_payload=True,
                with_vectors=True,
            )
            records.extend(page)
            if offset is None:
                return records


def _dense(vector: Any) -> list[float]:
    if not isinstance(vector, list):
        raise RuntimeError("expected one dense vector per point")
    return [float(x) for x in vector]


def _vector_size(params: Any) -> int | None:
    if isinstance(params, models.VectorParams):
        return params.size
    return None
