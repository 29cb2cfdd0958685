"""Prometheus metrics of the embed service."""

from prometheus_client import Counter, Gauge, Histogram

from shortlist.runtime.metrics import END_TO_END_SECONDS

CHUNKS_EMBEDDED = Counter("shortlist_embed_chunks_total", "CV chunks embedded and stored")
EMBED_SECONDS = Histogram(
    "shortlist_embed_batch_seconds",
    "Time the model took to embed one batch",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_TEXTS = Histogram(
    "shortlist_embed_batch_texts",
    "Texts per model call (chunks of several CVs share one call)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
PARKED_CVS = Gauge("shortlist_embed_parked_cvs", "CVs parked until their job is known")
SEARCH_SECONDS = Histogram(
    "shortlist_search_seconds",
    "Time to answer one search (query embedding included), by kind: text or similar",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
VECTORS = Gauge("shortlist_embed_vectors", "CV chunk vectors in the vector store (refreshed periodically)")

# The stage this service observes exists from the start, so the first CVs show in quantiles and rates.
END_TO_END_SECONDS.labels("embedded")
