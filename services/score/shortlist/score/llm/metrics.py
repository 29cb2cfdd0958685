"""Metrics of the LLM calls (shared prefix ``shortlist_``)."""

from prometheus_client import Counter, Gauge, Histogram

LLM_CALLS = Counter("shortlist_llm_calls_total", "LLM calls made, by outcome", ["model", "outcome"])
LLM_RETRIES = Counter("shortlist_llm_retries_total", "LLM calls retried, by reason", ["model", "reason"])
LLM_TOKENS = Counter("shortlist_llm_tokens_total", "LLM tokens used", ["model", "direction"])
LLM_LATENCY = Histogram(
    "shortlist_llm_latency_seconds",
    "Time of one LLM call",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
LLM_CACHE = Counter("shortlist_llm_cache_total", "LLM response cache look-ups", ["result"])
LLM_RATE_LIMIT_WAIT = Histogram(
    "shortlist_llm_rate_limit_wait_seconds",
    "Time a call waited for the rate limiter",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)
LLM_QUOTES_DROPPED = Counter("shortlist_llm_quotes_dropped_total", "Quotes not found in the CV text", ["model"])
LLM_GIVE_UPS = Counter("shortlist_llm_budget_exhausted_total", "CVs whose LLM time budget ran out", ["reason"])
LLM_PRICE = Gauge(
    "shortlist_llm_price_per_1k_tokens",
    "Configured price of 1000 tokens (SHORTLIST_LLM_PRICE_PER_1K_*), for cost estimates",
    ["model", "direction"],
)
RETRY_REASONS = ("rate_limited", "server_error", "timeout", "connection_error", "invalid_json", "schema_mismatch")


def initialise(model: str, input_price: float, output_price: float) -> None:
    """Zero series for the model's known label values, and its prices."""
    LLM_PRICE.labels(model, "input").set(input_price)
    LLM_PRICE.labels(model, "output").set(output_price)
    for direction in ("input", "output"):
        LLM_TOKENS.labels(model, direction)
    for reason in RETRY_REASONS:
        LLM_RETRIES.labels(model, reason)
        LLM_GIVE_UPS.labels(reason)
    for result in ("hit", "miss"):
        LLM_CACHE.labels(result)
