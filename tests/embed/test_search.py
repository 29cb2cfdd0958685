"""Search over stored chunks with the real model, on both vector stores (no broker)."""

from pathlib import Path

import numpy as np
import pytest

from shortlist.embed.chunking import SectionSpan, chunk_text
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.evidence import top_chunks
from shortlist.embed.search import search_candidates, similar_applications
from shortlist.embed.store import VectorStore
from shortlist.embed.stores import EdgeStore, QdrantServerStore
from tests.embed.conftest import make_cv
from tests.embed.cvs import generated_cvs, store_cv

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


@pytest.mark.parametrize("kind", ["edge", "server"])
async def test_a_skill_written_in_one_cv_finds_that_cv_first(
    kind: str, embedder: MiniLmEmbedder, tmp_path: Path
) -> None:
    store: VectorStore = (
        EdgeStore(embedder.dimension, tmp_path / "edge")
        if kind == "edge"
        else QdrantServerStore(embedder.dimension, path=tmp_path / "qdrant")
    )
    await store.start()
    try:
        cvs = generated_cvs("job-1", "app")
        for cv in cvs.values():
            await store_cv(store, embedder, cv)
        other_job = make_cv("app-other", "job-2", candidate_id="cand-other")
        await store_cv(store, embedder, other_job)

        query = embedder.embed(["COBOL mainframe programming"])[0]
        hits = await search_candidates(store, query, 10)
        assert hits[0].application_id == "app-cobol"
        assert len(hits) == 5 and len({h.application_id for h in hits}) == 5, "one entry per application"
        best = hits[0].best
        assert "COBOL" in best.text and best.section == "skills"
        assert cvs["cobol"].text[best.start : best.end] == best.text
        assert hits[0].score == best.similarity > hits[1].score

        in_job = await search_candidates(store, query, 10, job_id="job-2")
        assert [h.application_id for h in in_job] == ["app-other"]
        skills = await search_candidates(store, embedder.embed(["React and TypeScript"])[0], 2, section="skills")
        assert skills[0].application_id == "app-frontend" and skills[0].best.section == "skills"

        similar = await similar_applications(store, "app-platform", 3)
        assert similar is not None and len(similar) == 3
        assert similar[0].application_id in {"app-cobol", "app-other"}, "near-identical CVs come first"
        assert "app-platform" not in {h.application_id for h in similar}
        assert await similar_applications(store, "app-unknown", 3) is None
    finally:
        await store.close()
