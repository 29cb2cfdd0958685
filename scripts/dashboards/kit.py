"""Small helpers over Grafana's dashboard SDK: every panel gets a unit, thresholds and a description."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"


def increase(selector: str, window: str = "$__range") -> str:
    """Increase over the window, counting series born inside it too: plain increase() misses a labelled
    counter's first events (its series only appears at 1), e.g. the first dead letter of a new error code."""
    return f"((increase({selector}[{window}]) and {selector} offset {window}) or {selector})"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """One panel: ``kind`` is timeseries, stat, bargauge or table; ``thresholds`` are (value, colour) steps."""

    title: str
    description: str
    unit: str
    queries: Sequence[Query]
    kind: str = "timeseries"
    width: int = 12
    thresholds: Sequence[tuple[float, str]] = ()
    max_value: float | None = None
    instant: bool = False
    base: str = "green"


@dataclass
class Board:
    uid: str
    title: str
    description: str
    rows: list[tuple[str, list[Panel]]] = field(default_factory=list)
    variables: Sequence[str] = ("service",)


def _thresholds(steps: Sequence[tuple[float, str]], colour: str) -> dashboard.ThresholdsConfig:
    base = [model.Threshold(value=None, color=colour)]
    return (
        dashboard.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps(base + [model.Threshold(value=v, color=c) for v, c in steps])
    )


def _target(query: Query, ref: str, instant: bool) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(query.expr).ref_id(ref).datasource(DATASOURCE)
    if query.legend:
        target = target.legend_format(query.legend)
    return target.instant() if instant else target.range()


def build_panel(p: Panel) -> Builder[model.Panel]:
    builder: timeseries.Panel | stat.Panel | bargauge.Panel | table.Panel
    if p.kind == "stat":
        builder = stat.Panel().graph_mode(common.BigValueGraphMode.AREA)
    elif p.kind == "bargauge":
        builder = bargauge.Panel().orientation(common.VizOrientation.HORIZONTAL)
    elif p.kind == "table":
        builder = table.Panel().show_header(True)
    else:
        builder = (
            timeseries.Panel()
            .fill_opacity(10)
            .line_width(1)
            .legend(
                common_builder.VizLegendOptions()
                .display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.BOTTOM)
                .show_legend(True)
                .calcs(["lastNotNull", "max"])
            )
            .tooltip(
                common_builder.VizTooltipOptions()
                .mode(common.TooltipDisplayMode.MULTI)
                .sort(common.SortOrder.DESCENDING)
            )
        )
    builder = (
        builder.title(p.title)
        .description(p.description)
        .unit(p.unit)
        .datasource(DATASOURCE)
        .height(8)
        .span(p.width)
        .thresholds(_thresholds(p.thresholds, p.base))
    )
    if p.max_value is not None:
        builder = builder.max(p.max_value)
    for index, query in enumerate(p.queries):
        builder = builder.with_target(_target(query, chr(ord("A") + index), p.instant or p.kind in ("table",)))
    return builder


VARIABLES = {
    "service": ("Service", "label_values(up, service)"),
    "topic": ("Topic", "label_values(shortlist_records_in_total, topic)"),
    "job": ("Job", "label_values(shortlist_job_score_value_count, job)"),
}


def build_board(board: Board) -> model.Dashboard:
    builder = (
        dashboard.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(["shortlist"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    for name in board.variables:
        label, query = VARIABLES[name]
        builder = builder.with_variable(
            dashboard.QueryVariable(name)
            .label(label)
            .query(query)
            .datasource(DATASOURCE)
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .current(model.VariableOption(selected=True, text="All", value="$__all"))
        )
    for row_title, panels in board.rows:
        builder = builder.with_row(dashboard.Row(row_title))
        for p in panels:
            builder = builder.with_panel(build_panel(p))
    return builder.build()
