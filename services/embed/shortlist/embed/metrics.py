"""Prometheus metrics of the embed service."""

from prometheus_client import Counter, Histogram

CHUNKS_EMBEDDED = Counter("shortlist_embed_chunks_total", "CV chunks embedded and stored")
EMBED_SECONDS = Histogram(
    "shortlist_embed_batch_seconds",
    "Time the model took to embed one batch",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
