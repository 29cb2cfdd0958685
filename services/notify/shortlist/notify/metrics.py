"""Metrics of the notify service (shared prefix ``shortlist_``)."""

from prometheus_client import Counter

from shortlist.runtime.metrics import END_TO_END_SECONDS

# Subscriptions are a few per receiving system, set up by operators: bounded, and their ids are not personal data.
SUBSCRIPTION_DELIVERIES = Counter(
    "shortlist_webhook_subscription_deliveries_total",
    "Webhook deliveries by subscription and final outcome",
    ["subscription", "outcome"],
)

# The stage this service observes exists from the start, so the first CVs show in quantiles and rates.
END_TO_END_SECONDS.labels("delivered")
