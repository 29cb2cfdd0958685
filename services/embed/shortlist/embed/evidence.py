"""Evidence per requirement, computed exactly: every chunk of the CV is compared with every requirement."""

from dataclasses import dataclass

import numpy as np

from shortlist.embed.embedder import Vectors


@dataclass(frozen=True)
class Match:
    chunk: int
    """Index of the chunk in the CV."""
    similarity: float
    """Cosine similarity in [-1, 1]."""


def top_chunks(requirements: Vectors, chunks: Vectors, k: int = 3) -> list[list[Match]]:
    """For each requirement row, the ``k`` most similar chunk rows, best first (ties: earlier chunk first)."""
    if len(chunks) == 0:
        return [[] for _ in range(len(requirements))]
    similarities = np.clip(_normalised(requirements) @ _normalised(chunks).T, -1.0, 1.0)
    result: list[list[Match]] = []
    for row in similarities:
        order = np.argsort(-row, kind="stable")[:k]
        result.append([Match(int(i), float(row[i])) for i in order])
    return result


def _normalised(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
