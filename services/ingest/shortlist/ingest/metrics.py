"""Ingest's own Prometheus metrics (prefix ``shortlist_``)."""

from prometheus_client import Counter, Gauge, Histogram

DOCUMENTS = Counter(
    "shortlist_ingest_documents_total", "Documents extracted, by detected type and outcome", ["type", "outcome"]
)
EXTRACTION_SECONDS = Histogram(
    "shortlist_ingest_extraction_seconds",
    "Time to extract one document",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OVERRIDES = Counter(
    "shortlist_ingest_overrides_total",
    "Score overrides recorded by reviewers, by overriding recommendation",
    ["recommendation"],
)
ERASURES = Counter("shortlist_ingest_erasures_total", "Candidate erasures applied to ingest's database", ["source"])
APPLICATIONS = Gauge(
    "shortlist_applications", "Applications in the status read model, by status (refreshed periodically)", ["status"]
)
REDRIVEN = Counter(
    "shortlist_ingest_redriven_total", "Events published again by re-drive, by kind (application, job)", ["kind"]
)
