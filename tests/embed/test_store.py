"""The real model and the real Qdrant local store, without the broker."""

from pathlib import Path

import numpy as np
import pytest

from shortlist.embed.chunking import SectionSpan, chunk_text
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.evidence import top_chunks
from shortlist.embed.handlers import job_requirements
from shortlist.embed.store import CvRef, StoredJob, VectorStore
from tests.embed.conftest import MUST, NICE, make_cv, make_job

pytestmark = pytest.mark.slow


def test_a_requirement_finds_the_chunk_that_mentions_it_first(embedder: MiniLmEmbedder) -> None:
    cv = make_cv("app-1", "job-1")
    chunks = chunk_text(cv.text, [SectionSpan(s.name, s.span.start, s.span.end) for s in cv.sections])
    vectors = embedder.embed([c.text for c in chunks])
    assert vectors.shape == (len(chunks), embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    requirements = embedder.embed(["Experience running Kubernetes in production", "A degree in mathematics"])
    kubernetes, degree = top_chunks(requirements, vectors, k=3)
    assert len(kubernetes) == 3
    assert "Kubernetes" in chunks[kubernetes[0].chunk].text
    assert chunks[degree[0].chunk].section == "education"
    assert kubernetes[0].similarity > kubernetes[1].similarity >= kubernetes[2].similarity


async def test_a_new_job_version_replaces_the_old_vectors_and_survives_a_restart(
    embedder: MiniLmEmbedder, tmp_path: Path
) -> None:
    def stored(version: int, texts: list[str]) -> StoredJob:
        requirements = job_requirements(
            make_job("job-7", [(t, MUST) for t in texts[:-1]] + [(texts[-1], NICE)], version)
        )
        return StoredJob(
            "job-7", version, "Platform engineer", 70, 40, requirements, embedder.embed([r.text for r in requirements])
        )

    store = VectorStore(embedder.dimension, path=tmp_path / "qdrant")
    await store.start()
    assert await store.get_job("job-7") is None
    assert await store.put_job(stored(1, ["Python", "Kafka", "Kubernetes"]))
    assert await store.put_job(stored(2, ["Python", "Go"]))
    assert not await store.put_job(stored(1, ["Python", "Kafka", "Kubernetes"])), "an older version is ignored"
    await store.close()

    reopened = VectorStore(embedder.dimension, path=tmp_path / "qdrant")
    await reopened.start()
    job = await reopened.get_job("job-7")
    await reopened.close()
    assert job is not None and job.version == 2
    assert [(r.id, r.text, r.kind, r.weight) for r in job.requirements] == [
        ("job-7-r1", "Python", "must", 1.0),
        ("job-7-r2", "Go", "nice", 0.5),
    ]
    assert job.title == "Platform engineer" and job.advance_threshold == 70
    assert np.allclose(job.vectors, embedder.embed(["Python", "Go"]), atol=1e-5)


async def test_chunks_are_upserted_by_deterministic_ids(embedder: MiniLmEmbedder, tmp_path: Path) -> None:
    cv = make_cv("app-2", "job-1")
    chunks = chunk_text(cv.text, [SectionSpan(s.name, s.span.start, s.span.end) for s in cv.sections])
    texts = [c.text for c in chunks]
    vectors = embedder.embed(texts)
    ref = CvRef("app-2", "job-1", "cand-1")
    store = VectorStore(embedder.dimension, path=tmp_path / "qdrant")
    await store.start()
    try:
        await store.put_chunks(ref, chunks, texts, vectors)
        await store.put_chunks(ref, chunks, texts, vectors)
        assert await store.count_chunks("app-2") == len(chunks)
        await store.put_chunks(ref, chunks[:2], texts[:2], vectors[:2])
        assert await store.count_chunks("app-2") == 2, "chunks beyond a shorter version are removed"
        await store.delete_candidate("cand-1")
        assert await store.count_chunks() == 0
    finally:
        await store.close()
