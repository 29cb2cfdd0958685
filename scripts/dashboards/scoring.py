"""Scoring & LLM: what the scorer decides, and what the LLM calls cost in time, errors and money."""

from scripts.dashboards.kit import RATE, Board, Panel, Query, increase


def quantiles(metric: str, by: str = "", qs: tuple[float, ...] = (0.5, 0.95)) -> list[Query]:
    group = f"le, {by}" if by else "le"
    prefix = f"{{{{{by}}}}} " if by else ""
    return [
        Query(
            f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[{RATE}])))", f"{prefix}p{round(q * 100)}"
        )
        for q in qs
    ]


BOARD = Board(
    uid="shortlist-scoring",
    title="Shortlist / Scoring & LLM",
    description="Scores, recommendations and flags; LLM calls, retries, rate limits, tokens, cost and cache.",
    variables=("job",),
    rows=[
        (
            "Scores",
            [
                Panel(
                    "Scores per minute",
                    "CVs scored per minute, by scorer.",
                    "short",
                    [Query(f"sum by (scorer) (rate(shortlist_scores_total[{RATE}])) * 60", "{{scorer}}")],
                ),
                Panel(
                    "Recommendation mix",
                    "Recommendations given in the selected range; a sudden shift often means a job or a model changed.",
                    "short",
                    [Query("sum by (recommendation) " + increase("shortlist_scores_total"), "{{recommendation}}")],
                    kind="bargauge",
                    instant=True,
                ),
                Panel(
                    "Score distribution per job",
                    "How many CVs of the selected jobs fell in each score band (upper bound of the band).",
                    "short",
                    [
                        Query(
                            "sum by (le) " + increase('shortlist_job_score_value_bucket{job=~"$job"}'),
                            "≤ {{le}}",
                        )
                    ],
                    kind="bargauge",
                    instant=True,
                ),
                Panel(
                    "Flags raised",
                    "Suspected prompt injection, hidden text, low parse quality and degraded scores in the range.",
                    "short",
                    [Query(f"sum by (flag) {increase('shortlist_score_flags_total')}", "{{flag}}")],
                    kind="bargauge",
                    instant=True,
                    thresholds=[(1, "orange")],
                ),
            ],
        ),
        (
            "LLM",
            [
                Panel(
                    "LLM calls by outcome",
                    "Calls per second by outcome (ok, rate_limited, server_error, timeout, invalid output...).",
                    "ops",
                    [Query(f"sum by (outcome) (rate(shortlist_llm_calls_total[{RATE}]))", "{{outcome}}")],
                ),
                Panel(
                    "LLM latency",
                    "Time of one LLM call, p50 and p95.",
                    "s",
                    quantiles("shortlist_llm_latency_seconds"),
                    thresholds=[(10, "orange"), (30, "red")],
                ),
                Panel(
                    "LLM retries by cause",
                    "Calls retried per second, by why (rate_limited, server_error, timeout, invalid_json...).",
                    "ops",
                    [Query(f"sum by (reason) (rate(shortlist_llm_retries_total[{RATE}]))", "{{reason}}")],
                ),
                Panel(
                    "Rate-limit waits",
                    "Time calls waited for the client-side rate limiter, p50 and p95; long waits "
                    "mean the limits are the bottleneck.",
                    "s",
                    quantiles("shortlist_llm_rate_limit_wait_seconds"),
                    thresholds=[(1, "orange"), (5, "red")],
                ),
                Panel(
                    "LLM budget exhaustions",
                    "CVs whose LLM time budget ran out in the range, by the last failure: retried "
                    "later, then dead-lettered.",
                    "short",
                    [Query(f"sum by (reason) {increase('shortlist_llm_budget_exhausted_total')}", "{{reason}}")],
                    kind="bargauge",
                    instant=True,
                    thresholds=[(1, "red")],
                ),
                Panel(
                    "Tokens",
                    "Tokens per second, input and output.",
                    "short",
                    [Query(f"sum by (direction) (rate(shortlist_llm_tokens_total[{RATE}]))", "{{direction}}")],
                ),
                Panel(
                    "Estimated LLM cost per hour",
                    "Tokens times the configured price per 1k tokens (SHORTLIST_LLM_PRICE_PER_1K_*), "
                    "per hour at the current rate.",
                    "currencyUSD",
                    [Query("sum by (model) (shortlist:llm_cost:rate5m) * 3600", "{{model}}")],
                ),
                Panel(
                    "LLM cache hit rate",
                    "Share of LLM calls answered from the response cache (repeated requirement/evidence pairs).",
                    "percentunit",
                    [
                        Query(
                            f'sum(rate(shortlist_llm_cache_total{{result="hit"}}[{RATE}]))'
                            f" / sum(rate(shortlist_llm_cache_total[{RATE}]))",
                            "hit rate",
                        )
                    ],
                    max_value=1,
                ),
            ],
        ),
    ],
)
