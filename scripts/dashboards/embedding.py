"""Embedding & search: how busy the model is, what waits, and how fast search answers."""

from scripts.dashboards.kit import RATE, Board, Panel, Query
from scripts.dashboards.scoring import quantiles

BOARD = Board(
    uid="shortlist-embedding",
    title="Shortlist / Embedding & search",
    description="Chunks embedded, batch sizes, model busy share, parked CVs, search latency and vectors stored.",
    variables=(),
    rows=[
        (
            "Model",
            [
                Panel(
                    "Chunks embedded per second",
                    "CV chunks embedded and stored per second.",
                    "ops",
                    [Query(f"sum(rate(shortlist_embed_chunks_total[{RATE}]))", "chunks/s")],
                ),
                Panel(
                    "Batch size",
                    "Texts per model call, mean and p95: small batches under load waste the model.",
                    "short",
                    [
                        Query(
                            f"sum(rate(shortlist_embed_batch_texts_sum[{RATE}]))"
                            f" / sum(rate(shortlist_embed_batch_texts_count[{RATE}]))",
                            "mean",
                        ),
                        *quantiles("shortlist_embed_batch_texts", qs=(0.95,)),
                    ],
                ),
                Panel(
                    "Model busy share",
                    "Share of wall time the model spends embedding, per process: near 100 % means "
                    "embed is the bottleneck.",
                    "percentunit",
                    [Query(f"sum by (service) (rate(shortlist_embed_batch_seconds_sum[{RATE}]))", "{{service}}")],
                    thresholds=[(0.8, "orange"), (0.95, "red")],
                    max_value=1,
                ),
                Panel(
                    "Parked CVs",
                    "CVs waiting for their job's requirements to arrive; stays near 0 unless jobs.posted.v1 lags.",
                    "short",
                    [Query("sum(shortlist_embed_parked_cvs)", "parked")],
                    kind="stat",
                    thresholds=[(10, "orange"), (100, "red")],
                ),
            ],
        ),
        (
            "Search",
            [
                Panel(
                    "Search latency",
                    "Time to answer a search (query embedding included), p50 and p95, by kind.",
                    "s",
                    quantiles("shortlist_search_seconds", by="kind"),
                    thresholds=[(0.5, "orange"), (2, "red")],
                ),
                Panel(
                    "Vectors stored",
                    "CV chunk vectors in the vector store.",
                    "short",
                    [Query("sum(shortlist_embed_vectors)", "vectors")],
                    kind="stat",
                ),
            ],
        ),
    ],
)
