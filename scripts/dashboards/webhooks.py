"""Webhooks: are scores reaching the receivers, which subscriptions fail, and how late."""

from scripts.dashboards.kit import RATE, Board, Panel, Query
from scripts.dashboards.scoring import quantiles

SUBS = "shortlist_webhook_subscription_deliveries_total"

BOARD = Board(
    uid="shortlist-webhooks",
    title="Shortlist / Webhooks",
    description="Deliveries by outcome, failure ratio per subscription, delay from score to delivery.",
    variables=(),
    rows=[
        (
            "Deliveries",
            [
                Panel(
                    "Deliveries by outcome",
                    "Webhook deliveries per second by final outcome (delivered, failed, skipped, "
                    "no_subscribers, erased).",
                    "ops",
                    [Query(f"sum by (outcome) (rate(shortlist_webhook_deliveries_total[{RATE}]))", "{{outcome}}")],
                ),
                Panel(
                    "Failure ratio per subscription",
                    "Share of deliveries to each subscription that did not end delivered; a receiver "
                    "down shows here first.",
                    "percentunit",
                    [
                        Query(
                            f'1 - sum by (subscription) (rate({SUBS}{{outcome="delivered"}}[{RATE}]))'
                            f" / sum by (subscription) (rate({SUBS}[{RATE}]))",
                            "{{subscription}}",
                        )
                    ],
                    thresholds=[(0.05, "orange"), (0.2, "red")],
                    max_value=1,
                ),
                Panel(
                    "Delay from score to delivery",
                    "Time from the score's arrival at notify to the webhook delivered (retries included), p50 and p95.",
                    "s",
                    quantiles("shortlist_webhook_delivery_delay_seconds"),
                    thresholds=[(30, "orange"), (120, "red")],
                ),
            ],
        ),
        (
            "Delivery worker",
            [
                Panel(
                    "Pending deliveries",
                    "Deliveries waiting for their first try or a retry; growing while receivers answer means "
                    "the worker is behind, growing while they fail means retries are piling up.",
                    "short",
                    [Query("sum(shortlist_webhook_pending_deliveries)", "pending")],
                    thresholds=[(1000, "orange"), (10000, "red")],
                ),
                Panel(
                    "Circuit breakers per endpoint",
                    "State of each endpoint's circuit breaker: 0 closed, 1 half-open (one probe), 2 open "
                    "(nothing sent until the cool-down ends).",
                    "short",
                    [Query("max by (endpoint) (shortlist_webhook_breaker_state)", "{{endpoint}}")],
                    thresholds=[(1, "orange"), (2, "red")],
                    max_value=2,
                ),
            ],
        ),
    ],
)
