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
HTTP_REQUESTS = Counter(
    "shortlist_http_requests_total",
    "HTTP requests answered, by route template and status code",
    ["service", "method", "route", "code"],
)
HTTP_SECONDS = Histogram(
    "shortlist_http_request_duration_seconds",
    "Time to answer one HTTP request, by route template",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENT_LOOP_LAG = Histogram(
    "shortlist_event_loop_lag_seconds",
    "How late the event loop ran a timer: time it was busy with other work",
    ["service"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BUILD_INFO = Gauge("shortlist_build_info", "Always 1: the running version", ["service", "version", "python_version"])
