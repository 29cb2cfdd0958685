"""Contract tests of the vector stores: Qdrant Edge and qdrant-client (local mode standing in for the server).

Vectors are random unit vectors (no model), so these tests exercise only the stores.
"""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from shortlist.embed.chunking import Chunk
from shortlist.embed.embedder import Vectors
from shortlist.embed.store import CvRef, EmbedderMismatch, StoredJob, StoredRequirement, VectorStore, chunk_point_id
from shortlist.embed.stores import EdgeStore, QdrantServerStore

DIM = 32
StoreFactory = Callable[..., VectorStore]


def unit(rows: int, seed: int) -> Vectors:
    vectors = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def chunks_of(count: int, sections: tuple[str, ...] = ("experience", "skills")) -> list[Chunk]:
    return [Chunk(i, sections[i % len(sections)], i * 100, i * 100 + 90, f"chunk {i}") for i in range(count)]


def job(version: int, texts: list[str], seed: int = 0) -> StoredJob:
    requirements = [StoredRequirement(f"job-7-r{i}", t, "must", 1.0) for i, t in enumerate(texts, start=1)]
    return StoredJob("job-7", version, "Platform engineer", 70, 40, requirements, unit(len(texts), seed))


@pytest.fixture(params=["edge", "server"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Opens (or reopens) a store of the parametrized kind at the same place in ``tmp_path``."""

    def factory(dimension: int = DIM, embedder_id: str | None = "minilm") -> VectorStore:
        if request.param == "edge":
            return EdgeStore(dimension, tmp_path / "edge", embedder_id=embedder_id)
        return QdrantServerStore(dimension, path=tmp_path / "qdrant", embedder_id=embedder_id)

    return factory


@pytest.fixture
async def store(open_store: StoreFactory) -> AsyncIterator[VectorStore]:
    opened = open_store(DIM)
    await opened.start()
    yield opened
    await opened.close()


async def test_a_new_job_version_replaces_the_old_vectors_and_survives_a_restart(open_store: StoreFactory) -> None:
    store = open_store(DIM)
    await store.start()
    assert await store.get_job("job-7") is None
    assert await store.put_job(job(1, ["Python", "Kafka", "Kubernetes"]))
    assert await store.put_job(job(2, ["Python", "Go"], seed=2))
    assert not await store.put_job(job(1, ["Python", "Kafka", "Kubernetes"])), "an older version is ignored"
    await store.close()

    reopened = open_store(DIM)
    await reopened.start()
    stored = await reopened.get_job("job-7")
    await reopened.close()
    assert stored is not None and stored.version == 2
    assert [(r.id, r.text) for r in stored.requirements] == [("job-7-r1", "Python"), ("job-7-r2", "Go")]
    assert stored.title == "Platform engineer" and stored.advance_threshold == 70
    assert np.allclose(stored.vectors, unit(2, 2), atol=1e-5)


async def test_replaying_the_same_points_leaves_the_same_points(store: VectorStore) -> None:
    ref = CvRef("app-2", "job-1", "cand-1")
    chunks, vectors = chunks_of(5), unit(5, 1)
    await store.put_chunks(ref, chunks, [c.text for c in chunks], vectors)
    first, _ = await store.application_chunks("app-2")
    await store.put_chunks(ref, chunks, [c.text for c in chunks], vectors)
    again, stored_vectors = await store.application_chunks("app-2")

    assert await store.count_chunks("app-2") == await store.count_chunks() == 5
    assert again == first
    assert [c.chunk_id for c in again] == [chunk_point_id("app-2", i) for i in range(5)]
    assert [(c.section, c.start, c.end, c.text) for c in again] == [(c.section, c.start, c.end, c.text) for c in chunks]
    assert np.allclose(stored_vectors, vectors, atol=1e-5)

    await store.put_chunks(ref, chunks[:2], ["a", "b"], vectors[:2])
    assert await store.count_chunks("app-2") == 2, "chunks beyond a shorter version are removed"


async def test_erasing_a_candidate_deletes_only_their_points(store: VectorStore) -> None:
    for n, (app, candidate) in enumerate([("app-a", "cand-1"), ("app-b", "cand-1"), ("app-c", "cand-2")]):
        await store.put_chunks(CvRef(app, "job-1", candidate), chunks_of(3), ["x"] * 3, unit(3, n))
    await store.put_chunks(CvRef("app-d", "job-1", ""), chunks_of(2), ["y"] * 2, unit(2, 9))

    assert await store.delete_candidate("cand-1") == 6
    assert await store.count_chunks("app-a") == await store.count_chunks("app-b") == 0
    assert await store.count_chunks() == 5
    assert await store.delete_candidate("cand-1") == 0, "erasing twice is harmless"
    assert await store.delete_candidate("", ["app-d"]) == 2, "an application without candidate id is erased by id"
    assert await store.count_chunks() == 3
    assert await store.search_chunks(unit(1, 0)[0], 10, exclude_candidate="cand-2") == []


async def test_search_returns_the_nearest_chunks_within_the_filters(store: VectorStore) -> None:
    vectors = {app: unit(4, seed) for seed, app in enumerate(["app-1", "app-2", "app-3"])}
    jobs = {"app-1": "job-1", "app-2": "job-1", "app-3": "job-2"}
    for app, rows in vectors.items():
        await store.put_chunks(CvRef(app, jobs[app], f"cand-{app}"), chunks_of(4), ["t"] * 4, rows)

    target = vectors["app-2"][3]
    hits = await store.search_chunks(target, 5)
    assert len(hits) == 5
    assert (hits[0].application_id, hits[0].chunk_index) == ("app-2", 3)
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)

    by_job = await store.search_chunks(target, 20, job_id="job-2")
    assert {h.application_id for h in by_job} == {"app-3"} and len(by_job) == 4
    by_section = await store.search_chunks(target, 20, section="skills")
    assert len(by_section) == 6 and all(h.section == "skills" for h in by_section)
    others = await store.search_chunks(target, 20, exclude_application="app-2")
    assert len(others) == 8 and "app-2" not in {h.application_id for h in others}
    assert await store.search_chunks(target, 5, job_id="job-unknown") == []


async def test_a_store_refuses_vectors_of_another_size(open_store: StoreFactory) -> None:
    store = open_store(DIM)
    await store.start()
    await store.close()
    with pytest.raises(RuntimeError, match="-d vectors"):
        await open_store(DIM * 2).start()


async def test_a_store_refuses_vectors_of_another_embedder_and_keeps_them(open_store: StoreFactory) -> None:
    store = open_store(DIM, "minilm")
    await store.start()
    await store.put_chunks(CvRef("app-1", "job-1", "cand-1"), chunks_of(3), ["t"] * 3, unit(3, 1))
    await store.close()
    with pytest.raises(EmbedderMismatch, match=r"holds vectors of embedder 'minilm'.*embeds with 'minilm-int8'"):
        await open_store(DIM, "minilm-int8").start()
    same = open_store(DIM, "minilm")
    await same.start()
    assert await same.count_chunks() == 3, "the refused start changed nothing"
    await same.close()


async def test_a_store_written_before_embedder_ids_holds_fp32_minilm_vectors(open_store: StoreFactory) -> None:
    store = open_store(384, None)
    await store.start()
    await store.close()
    with pytest.raises(EmbedderMismatch, match="embedder 'minilm'"):
        await open_store(384, "minilm-int8").start()
    adopted = open_store(384, "minilm")
    await adopted.start()
    await adopted.close()


async def test_edge_keeps_payload_indexes_and_finds_after_optimizing(tmp_path: Path) -> None:
    store = EdgeStore(DIM, tmp_path / "edge", optimize_min_points=10)
    await store.start()
    await store.put_chunks(CvRef("app-1", "job-1", "cand-1"), chunks_of(20), ["t"] * 20, unit(20, 3))
    await store.close()

    reopened = EdgeStore(DIM, tmp_path / "edge", optimize_min_points=10)
    await reopened.start()  # 20 unindexed points: optimizes before serving
    try:
        hits = await reopened.search_chunks(unit(20, 3)[7], 1, job_id="job-1")
        assert hits[0].chunk_index == 7
        assert await reopened.count_chunks("app-1") == 20
        schema = await reopened._run(lambda shards: shards["cv_chunks"].info().payload_schema)
        assert set(schema) == {"application_id", "job_id", "candidate_id", "section"}
    finally:
        await reopened.close()
