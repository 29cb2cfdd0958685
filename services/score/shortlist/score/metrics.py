"""Metrics of the score service (shared prefix ``shortlist_``)."""

from prometheus_client import Counter, Histogram

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
