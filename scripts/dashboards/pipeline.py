"""Pipeline: is work flowing, where does it pile up or fail, and how long does a CV take end to end."""

from scripts.dashboards.kit import RATE, Board, Panel, Query, increase

SEL = 'service=~"$service", topic=~"$topic"'


def e2e(stage: str) -> list[Query]:
    rate = f'sum by (le) (rate(shortlist_end_to_end_seconds_bucket{{stage="{stage}"}}[{RATE}]))'
    return [Query(f"histogram_quantile({q}, {rate})", f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)]


BOARD = Board(
    uid="shortlist-pipeline",
    title="Shortlist / Pipeline",
    description="Throughput, backlog, failures and end-to-end latency of ingest → embed → score → notify.",
    variables=("service", "topic"),
    rows=[
        (
            "Flow",
            [
                Panel(
                    "Throughput per stage",
                    "Records each service consumes per second, by topic: the pipeline's pulse.",
                    "ops",
                    [
                        Query(
                            f"sum by (service, topic) (rate(shortlist_records_in_total{{{SEL}}}[{RATE}]))",
                            "{{service}} {{topic}}",
                        )
                    ],
                ),
                Panel(
                    "Consumer lag per group and partition",
                    "Records not yet consumed, per consumer group (service) and partition; growing "
                    "lag means a stage falls behind.",
                    "short",
                    [
                        Query(
                            f"max by (service, topic, partition) (shortlist_consumer_lag{{{SEL}}})",
                            "{{service}} {{topic}}[{{partition}}]",
                        )
                    ],
                    thresholds=[(100, "orange"), (1000, "red")],
                ),
                Panel(
                    "Applications by status",
                    "Applications in the status read model: in flight, failed, scored and notified.",
                    "short",
                    [
                        Query('sum(shortlist_applications{status=~"received|ingested|embedded"})', "in flight"),
                        Query('sum(shortlist_applications{status="failed"})', "failed"),
                        Query('sum(shortlist_applications{status="scored"})', "scored"),
                        Query('sum(shortlist_applications{status="notified"})', "notified"),
                    ],
                    kind="stat",
                    width=24,
                ),
            ],
        ),
        (
            "Failures",
            [
                Panel(
                    "Records failed per topic",
                    "Handling attempts that failed, by topic and error code (0 while a topic only succeeds).",
                    "ops",
                    [
                        Query(
                            f"sum by (topic, code) (rate(shortlist_records_failed_total{{{SEL}}}[{RATE}]))"
                            f" or 0 * sum by (topic) (rate(shortlist_records_in_total{{{SEL}}}[{RATE}]))",
                            "{{topic}} {{code}}",
                        )
                    ],
                    thresholds=[(0.01, "red")],
                ),
                Panel(
                    "Dead-lettered per topic",
                    "Records sent to <topic>-dlt in the selected range, by topic and reason: each "
                    "needs a look (shortlist dlt list).",
                    "short",
                    [
                        Query(
                            "sum by (topic, code) " + increase(f"shortlist_dlt_total{{{SEL}}}"),
                            "{{topic}} {{code}}",
                        )
                    ],
                    kind="bargauge",
                    thresholds=[(1, "red")],
                    instant=True,
                ),
            ],
        ),
        (
            "Latency",
            [
                Panel(
                    "End-to-end latency to scored",
                    "From the submission's ce_time to its score being published: p50, p95, p99 (SLO: "
                    "99 % within 60 s).",
                    "s",
                    e2e("scored"),
                    thresholds=[(60, "red")],
                ),
                Panel(
                    "End-to-end latency to delivered",
                    "From the submission's ce_time to the webhook delivery: p50, p95, p99.",
                    "s",
                    e2e("delivered"),
                    thresholds=[(120, "red")],
                ),
                Panel(
                    "Scored within 60 s (SLO)",
                    "Share of CVs scored within 60 s of submission over the last hour; the objective is 99 %.",
                    "percentunit",
                    [Query("shortlist:e2e_scored_within_slo:ratio_rate1h", "within 60 s")],
                    kind="stat",
                    thresholds=[(0.99, "green")],
                    base="red",
                    max_value=1,
                ),
                Panel(
                    "Error budget burn rate",
                    "How fast the 1 % error budget of the latency SLO burns (1 = exactly on budget over 30 days).",
                    "short",
                    [
                        Query("shortlist:e2e_scored_slo_burn:rate5m", "5m"),
                        Query("shortlist:e2e_scored_slo_burn:rate1h", "1h"),
                    ],
                    thresholds=[(6, "orange"), (14.4, "red")],
                ),
            ],
        ),
    ],
)
