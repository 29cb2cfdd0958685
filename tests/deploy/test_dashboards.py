"""The dashboards and rules in deploy/ as files: generated from code and fresh, complete, and valid to promtool."""

import json
import subprocess
import sys

import pytest

from scripts.dashboards.__main__ import BOARDS, render
from scripts.observe import DEPLOY, render_config
from shortlist.cli.stack import DEFAULT_PORTS
from tests.deploy.promql import DASHBOARDS, dashboard_targets, panels, require_prometheus, substitute


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_committed_dashboard_is_what_the_code_generates(name: str) -> None:
    path = DASHBOARDS / f"{name}.json"
    assert path.is_file(), f"{path} is missing: run make dashboards"
    assert path.read_text() == render(BOARDS[name]), f"{path.name} is stale: run make dashboards"


def test_the_check_mode_reports_a_stale_dashboard(tmp_path: pytest.TempPathFactory) -> None:
    fresh = subprocess.run([sys.executable, "-m", "scripts.dashboards", "--check"], capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr
    path = DASHBOARDS / "webhooks.json"
    original = path.read_text()
    try:
        path.write_text(original.replace("Deliveries by outcome", "Deliveries"))
        stale = subprocess.run([sys.executable, "-m", "scripts.dashboards", "--check"], capture_output=True, text=True)
    finally:
        path.write_text(original)
    assert stale.returncode == 1 and "webhooks.json" in stale.stderr


def test_every_panel_has_a_description_a_unit_thresholds_and_a_query() -> None:
    titles = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        variables = {v["name"] for v in board["templating"]["list"]}
        assert "datasource" in variables
        for panel in panels(board):
            defaults = panel["fieldConfig"]["defaults"]
            assert panel["description"].strip(), f"{path.name}: {panel['title']} has no description"
            assert defaults.get("unit"), f"{path.name}: {panel['title']} has no unit"
            assert defaults["thresholds"]["steps"], f"{path.name}: {panel['title']} has no thresholds"
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            titles.append(panel["title"])
    assert len(titles) == len(set(titles)), "panel titles are the runbook's headings: keep them unique"


def test_dashboards_offer_the_service_job_and_topic_variables() -> None:
    names = {v["name"] for p in DASHBOARDS.glob("*.json") for v in json.loads(p.read_text())["templating"]["list"]}
    assert {"service", "job", "topic"} <= names
    for target in dashboard_targets():
        substitute(target.expr)  # no variable the proof could not fill in


def test_committed_prometheus_config_matches_the_generator() -> None:
    assert (DEPLOY / "prometheus.yml").read_text() == render_config(dict(DEFAULT_PORTS))


def test_promtool_accepts_the_config_and_rules_and_their_unit_tests_pass() -> None:
    require_prometheus()
    check = subprocess.run(
        ["promtool", "check", "config", "prometheus.yml"], cwd=DEPLOY, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    tests = sorted(str(p) for p in (DEPLOY / "tests").glob("*.yml"))
    result = subprocess.run(["promtool", "test", "rules", *tests], cwd=DEPLOY, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    rules = (DEPLOY / "rules" / "alerts.yml").read_text()
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines() if line.strip().startswith("- alert:")]
    cases = "\n".join(p.read_text() for p in (DEPLOY / "tests").glob("*.yml"))
    assert alerts
    for alert in alerts:
        blocks = cases.split(f"alertname: {alert}\n")[1:]
        firing = [b for b in blocks if not b.lstrip().startswith("exp_alerts: []")]
        quiet = [b for b in blocks if b.lstrip().startswith("exp_alerts: []")]
        assert firing, f"{alert} has no firing case"
        assert quiet, f"{alert} has no quiet case"


def test_the_runbook_names_every_panel_and_alert() -> None:
    runbook = (DEPLOY.parents[1] / "docs" / "operations.md").read_text()
    titles = {p["title"] for path in DASHBOARDS.glob("*.json") for p in panels(json.loads(path.read_text()))}
    rules = (DEPLOY / "rules" / "alerts.yml").read_text()
    alerts = {line.split(":", 1)[1].strip() for line in rules.splitlines() if line.strip().startswith("- alert:")}
    missing = sorted(t for t in titles if f"**{t}**" not in runbook)
    missing += sorted(a for a in alerts if f"### {a}" not in runbook)
    assert not missing, f"docs/operations.md does not explain: {missing}"
    anchors = {line.split("#", 1)[1].strip() for line in rules.splitlines() if "runbook: docs/operations.md#" in line}
    assert anchors == {a.lower() for a in alerts}
