"""Panel and rule expressions of deploy/, and their evaluation through a real Prometheus' HTTP API."""

import json
import math
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_services

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules"

# What Grafana puts in for the template variables when "All" is selected and for its interval macros.
SUBSTITUTIONS = {
    "$__rate_interval": "2m",
    "$__range": "1h",
    "$__interval": "15s",
    "$service": ".*",
    "$topic": ".*",
    "$job": ".*",
}


@dataclass(frozen=True)
class Target:
    board: str
    panel: str
    expr: str


def substitute(expr: str) -> str:
    for name in sorted(SUBSTITUTIONS, key=len, reverse=True):
        expr = expr.replace("${" + name[1:] + "}", SUBSTITUTIONS[name]).replace(name, SUBSTITUTIONS[name])
    leftover = re.findall(r"\$\{?\w+", expr)
    assert not leftover, f"unknown template variable(s) {leftover} in {expr}"
    return expr


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        if panel.get("type") == "row":
            yield from panel.get("panels") or []
        else:
            yield panel


def dashboard_targets(folder: Path = DASHBOARDS) -> list[Target]:
    found = []
    for path in sorted(folder.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in panels(board):
            for target in panel.get("targets") or []:
                found.append(Target(path.stem, panel["title"], target["expr"]))
    return found


def query(client: httpx.Client, expr: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(error, result) of an instant query."""
    answer = client.get("/api/v1/query", params={"query": expr}).json()
    if answer.get("status") != "success":
        return f"{answer.get('errorType')}: {answer.get('error')}", []
    return None, answer["data"]["result"]


def has_value(result: list[dict[str, Any]]) -> bool:
    """At least one series with a number (NaN is no data: a quantile of no observations)."""
    for series in result:
        value = series.get("value") or [None, "NaN"]
        if not math.isnan(float(value[1])):
            return True
    return False


def require_prometheus() -> None:
    if shutil.which("prometheus") and shutil.which("promtool"):
        return
    if require_services():
        pytest.fail("prometheus/promtool are not installed (make prometheus) and SHORTLIST_REQUIRE_SERVICES=1")
    pytest.skip("prometheus/promtool are not installed (Debian package prometheus; make prometheus)")


@dataclass
class Report:
    evaluated: int = 0
    with_data: int = 0
    problems: list[str] | None = None


def check_dashboards(client: httpx.Client, folder: Path = DASHBOARDS) -> Report:
    """Evaluate every panel target: each must parse and return at least one number."""
    report = Report(problems=[])
    assert report.problems is not None
    for target in dashboard_targets(folder):
        report.evaluated += 1
        error, result = query(client, substitute(target.expr))
        if error is not None:
            report.problems.append(f"{target.board} / {target.panel}: {error}")
        elif not has_value(result):
            report.problems.append(f"{target.board} / {target.panel}: no data for {target.expr}")
        else:
            report.with_data += 1
    return report
