"""Prometheus metrics shared by the services. One prefix: ``shortlist_``."""

from prometheus_client import Counter, Gauge, Histogram

RECORDS_IN = Counter("shortlist_records_in_total", "Records consumed", ["service", "topic"])
RECORDS_OUT = Counter("shortlist_records_out_total", "Records produced", ["service", "topic"])
RECORDS_FAILED = Counter(
    "shortlist_records_failed_total", "Records whose handling failed (each try)", ["service", "topic", "code"]
)
DEAD_LETTERS = Counter("shortlist_dlt_total", "Records sent to a dead-letter topic", ["service", "topic", "code"])
RETRIES = Counter("shortlist_retries_total", "Retries of a transient failure", ["service", "topic", "code"])
PROCESSING_SECONDS = Histogram(
    "shortlist_processing_seconds",
    "Time to handle one record",
    ["service", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "shortlist_consumer_lag", "Records behind the end of the partition", ["service", "topic", "partition"]
)
END_TO_END_SECONDS = Histogram(
    "shortlist_end_to_end_seconds",
    "Time from the submission's ce_time to a step",
    ["stage"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
