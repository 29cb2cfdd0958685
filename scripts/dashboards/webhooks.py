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
                    "Webhook deliveries per second by final outcome (delivered, gave_up, skipped, "
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
                    "Time from the score being published to the webhook delivered (retries included), p50 and p95.",
                    "s",
                    quantiles("shortlist_webhook_delay_seconds"),
                    thresholds=[(30, "orange"), (120, "red")],
                ),
            ],
        ),
    ],
)
