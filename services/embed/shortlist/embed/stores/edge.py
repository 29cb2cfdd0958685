"""The embedded vector store: Qdrant Edge (PyPI ``qdrant-edge-py``), Qdrant's engine in process, on disk.

One edge shard per collection, under ``<path>/cv_chunks`` and ``<path>/job_requirements``, with keyword
payload indexes on the filtered fields. New points land in an appendable segment that is searched
exhaustively (at 100k chunks an unfiltered top-10 takes ~9 ms here, filtered by job under 1 ms).
``optimize()`` builds the HNSW index (~2 ms then) but takes about a minute per 100k points and holds the
interpreter lock all along, freezing the process: so it runs only when the store opens with at least
``optimize_min_points`` unindexed chunks (before the service takes traffic) and when asked, e.g. after a
bulk load; never while consuming.
"""

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import qdrant_edge as qe

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

log = logging.getLogger(__name__)

OPTIMIZE_MIN_POINTS = 50_000
EMBEDDER_FILE = "shortlist_embedder.json"
"""Beside each shard: the embedder whose vectors it holds."""
_PAGE = 256

T = TypeVar("T")


def _match(field: str, value: str | int) -> qe.FieldCondition:
    return qe.FieldCondition(key=field, match=qe.MatchValue(value))


class EdgeStore:
    def __init__(
        self,
        dimension: int,
        path: Path,
        optimize_min_points: int = OPTIMIZE_MIN_POINTS,
        embedder_id: str | None = None,
    ) -> None:
        self.dimension = dimension
        self.embedder_id = embedder_id
        self._path = path
        self._optimize_min_points = optimize_min_points
        self._shards: dict[str, qe.EdgeShard] = {}
        self._lock = threading.Lock()

    async def start(self) -> None:
        await asyncio.to_thread(self._open)
        info = await self._run(lambda s: s[CV_CHUNKS].info())
        if info.points_count - info.indexed_vectors_count >= self._optimize_min_points:
            log.info("optimizing %d unindexed chunks before serving", info.points_count - info.indexed_vectors_count)
            await self.optimize()

    async def close(self) -> None:
        def close(shards: dict[str, qe.EdgeShard]) -> None:
            for shard in shards.values():
                shard.flush()
                shard.close()
            shards.clear()

        if self._shards:
            await self._run(close)

    async def optimize(self) -> bool:
        """Merge segments and build the HNSW index (blocking the process: see the module's docstring)."""
        return await self._run(lambda s: s[CV_CHUNKS].optimize())

    async def put_job(self, job: StoredJob) -> bool:
        def write(shards: dict[str, qe.EdgeShard]) -> bool:
            shard = shards[JOB_REQUIREMENTS]
            stored = self._get_job(shard, job.job_id)
            if stored is not None and stored.version > job.version:
                return False
            points = [qe.Point(point_id, vector, payload) for point_id, payload, vector in requirement_payloads(job)]
            shard.update(qe.UpdateOperation.upsert_points(points))
            older = qe.Filter(must=[_match("job_id", job.job_id)], must_not=[_match("version", job.version)])
            shard.update(qe.UpdateOperation.delete_points_by_filter(older))
            return True

        return await self._run(write)

    async def get_job(self, job_id: str) -> StoredJob | None:
        return await self._run(lambda s: self._get_job(s[JOB_REQUIREMENTS], job_id))

    async def put_chunks(self, cv: CvRef, chunks: Sequence[Chunk], texts: Sequence[str], vectors: Vectors) -> None:
        points = [
            qe.Point(chunk_point_id(cv.application_id, chunk.index), vector.tolist(), chunk_payload(cv, chunk, text))
            for chunk, text, vector in zip(chunks, texts, vectors, strict=True)
        ]
        stale = qe.Filter(
            must=[
                _match("application_id", cv.application_id),
                qe.FieldCondition(key="chunk_index", range=qe.RangeFloat(gte=float(len(points)))),
            ]
        )

        def write(shards: dict[str, qe.EdgeShard]) -> None:
            shard = shards[CV_CHUNKS]
            if points:
                shard.update(qe.UpdateOperation.upsert_points(points))
            shard.update(qe.UpdateOperation.delete_points_by_filter(stale))

        await self._run(write)

    async def count_chunks(self, application_id: str | None = None) -> int:
        flt = qe.Filter(must=[_match("application_id", application_id)]) if application_id else None
        return await self._run(lambda s: s[CV_CHUNKS].count(qe.CountRequest(exact=True, filter=flt)))

    async def delete_candidate(self, candidate_id: str, application_ids: Sequence[str] = ()) -> int:
        should: list[Any] = [_match("candidate_id", candidate_id)] if candidate_id else []
        should += [_match("application_id", a) for a in application_ids if a]
        if not should:
            return 0
        flt = qe.Filter(should=should)

        def delete(shards: dict[str, qe.EdgeShard]) -> int:
            shard = shards[CV_CHUNKS]
            count = shard.count(qe.CountRequest(exact=True, filter=flt))
            shard.update(qe.UpdateOperation.delete_points_by_filter(flt))
            shard.flush()
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
        must: list[Any] = [_match(k, v) for k, v in (("job_id", job_id), ("section", section)) if v]
        must_not: list[Any] = [
            _match(k, v) for k, v in (("application_id", exclude_application), ("candidate_id", exclude_candidate)) if v
        ]
        flt = qe.Filter(must=must or None, must_not=must_not or None) if must or must_not else None
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(np.asarray(vector, dtype=np.float32).reshape(-1).tolist()),
            filter=flt,
            with_payload=True,
        )
        points = await self._run(lambda s: s[CV_CHUNKS].query(request))
        return [chunk_hit(p.id, p.score, p.payload) for p in points]

    async def application_chunks(self, application_id: str) -> tuple[list[ChunkHit], Vectors]:
        records = await self._run(lambda s: _scroll(s[CV_CHUNKS], _match("application_id", application_id)))
        records.sort(key=lambda r: int((r.payload or {}).get("chunk_index", 0)))
        hits = [chunk_hit(r.id, 0.0, r.payload) for r in records]
        rows = [_dense(r.vector) for r in records]
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(records), self.dimension)
        return hits, vectors

    async def _run(self, call: Callable[[dict[str, qe.EdgeShard]], T]) -> T:
        def locked() -> T:
            with self._lock:
                if not self._shards:
                    raise RuntimeError("the vector store is not started")
                return call(self._shards)

        return await asyncio.to_thread(locked)

    def _open(self) -> None:
        with self._lock:
            if self._shards:
                return
            shards: dict[str, qe.EdgeShard] = {}
            for name, fields in INDEXED_FIELDS.items():
                shards[name] = self._open_shard(self._path / name, fields)
            self._shards = shards

    def _open_shard(self, path: Path, fields: tuple[str, ...]) -> qe.EdgeShard:
        if (path / "edge_config.json").exists():
            size = json.loads((path / "edge_config.json").read_text()).get("vectors", {}).get("", {}).get("size")
            if size != self.dimension:
                raise RuntimeError(f"{path.name} holds {size}-d vectors, the embedder makes {self.dimension}-d")
            marker = path / EMBEDDER_FILE
            stored = json.loads(marker.read_text()).get("embedder") if marker.exists() else None
            check_embedder(path.name, stored, self.embedder_id, self.dimension, str(path))
            shard = qe.EdgeShard.load(str(path))
        else:
            path.mkdir(parents=True, exist_ok=True)
            config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=self.dimension, distance=qe.Distance.Cosine))
            shard = qe.EdgeShard.create(str(path), config)
        if self.embedder_id is not None and not (path / EMBEDDER_FILE).exists():
            (path / EMBEDDER_FILE).write_text(json.dumps({"embedder": self.embedder_id}))
        indexed = shard.info().payload_schema
        for field in fields:
            if field not in indexed:
                shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
        return shard

    def _get_job(self, shard: qe.EdgeShard, job_id: str) -> StoredJob | None:
        records = _scroll(shard, _match("job_id", job_id))
        return job_from_points(job_id, ((r.payload or {}, _dense(r.vector)) for r in records))


def _scroll(shard: qe.EdgeShard, condition: qe.FieldCondition) -> list[qe.Record]:
    records: list[qe.Record] = []
    offset: Any = None
    while True:
        page, offset = shard.scroll(
            qe.ScrollRequest(
                offset=offset, limit=_PAGE, filter=qe.Filter(must=[condition]), with_payload=True, with_vector=True
            )
        )
        records.extend(page)
        if offset is None:
            return records


def _dense(vector: Any) -> list[float]:
    if isinstance(vector, dict):  # the default vector may come back by its name ("")
        vector = vector.get("")
    if not isinstance(vector, list):
        raise RuntimeError("expected one dense vector per point")
    return [float(x) for x in vector]
