"""Service health: up, restarts, memory, CPU, event-loop lag and HTTP per route, for every service."""

from scripts.dashboards.kit import RATE, Board, Panel, Query

S = 'service=~"$service"'
HTTP = "shortlist_http_requests_total"

BOARD = Board(
    uid="shortlist-health",
    title="Shortlist / Service health",
    description="Up, restarts, RSS, CPU, event-loop lag, HTTP requests, latency and 5xx per route, per service.",
    variables=("service",),
    rows=[
        (
            "Processes",
            [
                Panel(
                    "Up",
                    "1 when Prometheus scraped the service's /metrics on its last try, 0 when it could not.",
                    "short",
                    [Query(f"up{{{S}}}", "{{service}}")],
                    kind="stat",
                    width=8,
                    thresholds=[(1, "green")],
                    base="red",
                ),
                Panel(
                    "Restarts",
                    "Process starts in the selected range (changes of the process start time).",
                    "short",
                    [Query(f"changes(process_start_time_seconds{{{S}}}[$__range])", "{{service}}")],
                    kind="stat",
                    width=8,
                    thresholds=[(1, "orange"), (3, "red")],
                    instant=True,
                ),
                Panel(
                    "Version",
                    "The running version and Python of each service (shortlist_build_info).",
                    "short",
                    [Query(f"shortlist_build_info{{{S}}}", "")],
                    kind="table",
                    width=8,
                ),
                Panel(
                    "Resident memory",
                    "RSS per service; embed holds the model (~1 GB).",
                    "bytes",
                    [Query(f"process_resident_memory_bytes{{{S}}}", "{{service}}")],
                    thresholds=[(2e9, "orange"), (3e9, "red")],
                ),
                Panel(
                    "CPU",
                    "CPU seconds per second per service (1 = one core).",
                    "short",
                    [Query(f"rate(process_cpu_seconds_total{{{S}}}[{RATE}])", "{{service}}")],
                    thresholds=[(0.9, "orange")],
                ),
                Panel(
                    "Event-loop lag",
                    "p99 of how late the event loop ran a timer: blocking work on the loop shows here.",
                    "s",
                    [
                        Query(
                            "histogram_quantile(0.99, sum by (le, service) "
                            f"(rate(shortlist_event_loop_lag_seconds_bucket{{{S}}}[{RATE}])))",
                            "{{service}}",
                        )
                    ],
                    thresholds=[(0.1, "orange"), (0.5, "red")],
                ),
            ],
        ),
        (
            "HTTP",
            [
                Panel(
                    "HTTP requests per route",
                    "Requests per second by service, route template and status code.",
                    "reqps",
                    [
                        Query(
                            f"sum by (service, route, code) (rate({HTTP}{{{S}}}[{RATE}]))",
                            "{{service}} {{route}} {{code}}",
                        )
                    ],
                ),
                Panel(
                    "HTTP latency per route",
                    "p95 time to answer, by service and route template.",
                    "s",
                    [
                        Query(
                            "histogram_quantile(0.95, sum by (le, service, route) "
                            f"(rate(shortlist_http_request_duration_seconds_bucket{{{S}}}[{RATE}])))",
                            "{{service}} {{route}}",
                        )
                    ],
                    thresholds=[(1, "orange"), (5, "red")],
                ),
                Panel(
                    "HTTP 5xx per route",
                    "Server errors per second by route (0 for routes that only succeed).",
                    "reqps",
                    [
                        Query(
                            f'sum by (service, route) (rate({HTTP}{{{S}, code=~"5.."}}[{RATE}]))'
                            f" or 0 * sum by (service, route) (rate({HTTP}{{{S}}}[{RATE}]))",
                            "{{service}} {{route}}",
                        )
                    ],
                    thresholds=[(0.01, "red")],
                ),
            ],
        ),
    ],
)
