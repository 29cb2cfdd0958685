"""``shortlist top``: the Pipeline dashboard's key panels, live in the terminal.

It evaluates the panels' own expressions (deploy/grafana/dashboards/pipeline.json) on a Prometheus, or, when
none answers, reads the services' ``/metrics`` directly and works the same figures out itself.
"""

import json
import math
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from shortlist.cli.stack import SERVICES, ports_from_env

PIPELINE = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards" / "pipeline.json"
KEY_PANELS = (
    "Throughput per stage",
    "Consumer lag per group and partition",
    "Applications by status",
    "Records failed per topic",
    "Dead-lettered per topic",
    "End-to-end latency to scored",
    "End-to-end latency to delivered",
)
MACROS = {"$__rate_interval": "1m", "$__range": "1h", "$service": ".*", "$topic": ".*", "$job": ".*"}
MAX_ROWS = 8
Rows = list[tuple[str, float]]


def fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "–"
    if unit == "ops":
        return f"{value:.2f}/s"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "percentunit":
        return f"{value * 100:.1f} %"
    return f"{value:g}"


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip() or "value"


def key_panels(path: Path = PIPELINE) -> list[dict[str, Any]]:
    board = json.loads(path.read_text())
    by_title = {p["title"]: p for p in board["panels"] if p.get("type") != "row"}
    return [by_title[t] for t in KEY_PANELS if t in by_title]


class FromPrometheus:
    def __init__(self, url: str, panels: list[dict[str, Any]]) -> None:
        self.name = f"Prometheus {url}"
        self.client = httpx.Client(base_url=url, timeout=5)
        self.panels = panels

    def read(self) -> dict[str, Rows]:
        figures: dict[str, Rows] = {}
        for panel in self.panels:
            rows: Rows = []
            for target in panel["targets"]:
                expr = target["expr"]
                for name, value in sorted(MACROS.items(), key=lambda kv: -len(kv[0])):
                    expr = expr.replace(name, value)
                answer = self.client.get("/api/v1/query", params={"query": expr}).json()
                for series in answer.get("data", {}).get("result", []):
                    rows.append((legend(target.get("legendFormat", ""), series["metric"]), float(series["value"][1])))
            figures[panel["title"]] = sorted(rows)
        return figures


class FromMetrics:
    """The same figures from the services' /metrics: rates between two reads, quantiles since start."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.urls = {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}
        self.previous: tuple[float, dict[str, float]] | None = None
        self.unreachable: list[str] = []

    @property
    def name(self) -> str:
        down = f"; [bold red]not answering: {', '.join(self.unreachable)}[/]" if self.unreachable else ""
        return f"services' /metrics (no Prometheus answered){down}"

    def _samples(self) -> list[tuple[str, dict[str, str], float]]:
        samples = []
        self.unreachable = []
        for service, url in self.urls.items():
            try:
                text = httpx.get(url, timeout=3).text
            except httpx.HTTPError:
                self.unreachable.append(service)
                continue
            for family in text_string_to_metric_families(text):
                samples += [(s.name, dict(s.labels), float(s.value)) for s in family.samples]
        return samples

    def read(self) -> dict[str, Rows]:
        now, samples = time.monotonic(), self._samples()
        counters = {
            "in": _totals(samples, "shortlist_records_in_total", ("service", "topic")),
            "failed": _totals(samples, "shortlist_records_failed_total", ("topic", "code")),
        }
        rates: dict[str, Rows] = {"in": [], "failed": []}
        if self.previous is not None:
            then, before = self.previous
            for kind, totals in counters.items():
                rates[kind] = [(k, (v - before.get(f"{kind} {k}", v)) / max(now - then, 1e-9)) for k, v in totals]
        self.previous = (now, {f"{kind} {k}": v for kind, totals in counters.items() for k, v in totals})
        statuses = {lb["status"]: v for n, lb, v in samples if n == "shortlist_applications"}
        return {
            "Throughput per stage": rates["in"],
            "Consumer lag per group and partition": sorted(
                (f"{lb['service']} {lb['topic']}[{lb['partition']}]", v)
                for n, lb, v in samples
                if n == "shortlist_consumer_lag"
            ),
            "Applications by status": [
                ("in flight", sum(statuses.get(s, 0) for s in ("received", "ingested", "embedded"))),
                *((s, statuses.get(s, 0)) for s in ("failed", "scored", "notified")),
            ],
            "Records failed per topic": rates["failed"],
            "Dead-lettered per topic": [
                (f"{k} (since start)", v) for k, v in _totals(samples, "shortlist_dlt_total", ("topic", "code"))
            ],
            "End-to-end latency to scored": _quantiles(samples, "scored"),
            "End-to-end latency to delivered": _quantiles(samples, "delivered"),
        }


def _totals(samples: list[tuple[str, dict[str, str], float]], metric: str, keys: tuple[str, ...]) -> Rows:
    totals: dict[str, float] = defaultdict(float)
    for name, labels, value in samples:
        if name == metric:
            totals[" ".join(labels.get(k, "") for k in keys)] += value
    return sorted(totals.items())


def _quantiles(samples: list[tuple[str, dict[str, str], float]], stage: str) -> Rows:
    buckets: dict[float, float] = defaultdict(float)
    for name, labels, value in samples:
        if name == "shortlist_end_to_end_seconds_bucket" and labels.get("stage") == stage:
            buckets[float(labels["le"])] += value
    return [(f"p{round(q * 100)} (since start)", quantile(q, sorted(buckets.items()))) for q in (0.5, 0.95, 0.99)]


def quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile on cumulative (upper bound, count) buckets."""
    if not buckets or buckets[-1][1] == 0:
        return math.nan
    rank, lower, below = q * buckets[-1][1], 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower


def render(source: FromPrometheus | FromMetrics, figures: dict[str, Rows], units: dict[str, str]) -> Group:
    tables = []
    for title in KEY_PANELS:
        table = Table(title=title, title_justify="left", expand=True, show_header=False, box=None)
        table.add_column("series", ratio=3)
        table.add_column("value", justify="right", ratio=1)
        rows = figures.get(title) or [("no data", math.nan)]
        if len(rows) > MAX_ROWS:  # many partitions: the ones that matter, and how many are idle
            busy = [r for r in rows if r[1] != 0 and not math.isnan(r[1])]
            idle = len(rows) - len(busy)
            more = f"… {len(busy) - MAX_ROWS} more, {idle} at 0" if len(busy) > MAX_ROWS else f"… {idle} at 0"
            rows = [*busy[:MAX_ROWS], (more, math.nan)]
        for label, value in rows:
            table.add_row(label, fmt(value, units.get(title, "short")) if not label.startswith("…") else "")
        tables.append(table)
    stamp = time.strftime("%H:%M:%S")
    return Group(f"[bold]Shortlist / Pipeline[/]  {stamp}  from {source.name}", *tables)


def top(
    prometheus: Annotated[
        str, typer.Option(envvar="SHORTLIST_PROMETHEUS_URL", help="Prometheus to read (e.g. from make observe).")
    ] = "http://127.0.0.1:9090",
    interval: Annotated[float, typer.Option(min=0.5, help="Seconds between refreshes.")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Print one screen and exit.")] = False,
) -> None:
    """Live view of the Pipeline dashboard's key panels, from Prometheus or the services' /metrics."""
    if not PIPELINE.is_file():
        Console(stderr=True).print(
            f"[bold red]error:[/] {PIPELINE} not found: top reads the dashboard from the repository"
        )
        raise typer.Exit(1)
    panels = key_panels()
    units = {p["title"]: p["fieldConfig"]["defaults"].get("unit", "short") for p in panels}
    source: FromPrometheus | FromMetrics
    try:
        ready = httpx.get(f"{prometheus}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        ready = False
    ports = ports_from_env()
    source = FromPrometheus(prometheus, panels) if ready else FromMetrics({s: ports[s] for s in SERVICES})
    console = Console()
    if once:
        if isinstance(source, FromMetrics):
            source.read()
            time.sleep(interval)
        console.print(render(source, source.read(), units))
        return
    with Live(render(source, {}, units), console=console, screen=False, auto_refresh=False) as live:
        try:
            while True:
                live.update(render(source, source.read(), units), refresh=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
