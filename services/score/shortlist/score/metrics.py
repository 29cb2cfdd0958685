"""Metrics of the score service (shared prefix ``shortlist_``)."""

from prometheus_client import Counter, Histogram

from shortlist.runtime.metrics import END_TO_END_SECONDS
from shortlist.score.scorers.base import Flag

SCORES = Counter("shortlist_scores_total", "CVs scored", ["scorer", "recommendation"])
SCORES_SKIPPED = Counter("shortlist_scores_skipped_total", "CVs neither scored nor published, by reason", ["reason"])
SCORE_FLAGS = Counter("shortlist_score_flags_total", "Flags raised on scored CVs", ["flag"])
SCORE_VALUES = Histogram(
    "shortlist_score_value", "Overall scores given", ["scorer"], buckets=(10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
)
SCORING_SECONDS = Histogram(
    "shortlist_scoring_seconds",
    "Time a scorer takes for one CV",
    ["scorer"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30),
)
JOB_SCORES = Histogram(
    "shortlist_job_score_value",
    "Overall scores given, per job (one series set per open job)",
    ["job"],
    buckets=(10, 20, 30, 40, 50, 60, 70, 80, 90, 100),
)

# Known label values start at zero, so a flag or skip that never happened shows as 0 rather than as no data.
for _flag in Flag:
    SCORE_FLAGS.labels(_flag.value)

# The stage this service observes exists from the start, so the first CVs show in quantiles and rates.
END_TO_END_SECONDS.labels("scored")
