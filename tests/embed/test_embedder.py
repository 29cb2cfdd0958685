"""The model's own embedding path: the same vectors as sentence-transformers, with less padding."""

import numpy as np

from shortlist.embed.embedder import MiniLmEmbedder

TEXTS = [
    "Skills\nPython, SQL, Terraform, Git",
    "Experience\nPlatform engineer at Cloudly (2019-2024): operated Kubernetes clusters across three regions, "
    "wrote Helm charts and ran container orchestration for forty services. " * 3,
    "Education\nBSc Mathematics, University of Leeds, 2015.",
    "a chunk far longer than the model reads " * 80,
    "Go",
]


def test_vectors_match_sentence_transformers_encode(embedder: MiniLmEmbedder) -> None:
    expected = embedder._get().encode(TEXTS, batch_size=2, normalize_embeddings=True, convert_to_numpy=True)
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dimension)
    assert np.allclose(vectors, expected, atol=1e-5), "same vectors, in the order of the texts"


def test_measured_texts_are_embedded_the_same(embedder: MiniLmEmbedder) -> None:
    counts = embedder.token_counts(TEXTS)
    assert counts[-2] == 256, "a text longer than the model reads counts as what it reads"
    assert counts[-1] < counts[0] < counts[1] < counts[3]
    assert np.allclose(embedder.embed(TEXTS[::-1]), embedder.embed(TEXTS)[::-1], atol=1e-5)
