"""Metrics of the notify service (shared prefix ``shortlist_``)."""

from prometheus_client import Counter, Histogram

from shortlist.runtime.metrics import END_TO_END_SECONDS

# Subscriptions are a few per receiving system, set up by operators: bounded, and their ids are not personal data.
SUBSCRIPTION_DELIVERIES = Counter(
    "shortlist_webhook_subscription_deliveries_total",
    "Webhook deliveries by subscription and final outcome",
    ["subscription", "outcome"],
)
DELIVERY_DELAY = Histogram(
    "shortlist_webhook_delay_seconds",
    "Time from a score being published to its webhook delivery",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)

# The stage this service observes exists from the start, so the first CVs show in quantiles and rates.
END_TO_END_SECONDS.labels("delivered")
