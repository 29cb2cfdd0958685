"""The PrometheusRule and the Grafana dashboard ConfigMaps follow deploy/prometheus and deploy/grafana."""

import json
from pathlib import Path

from scripts.deploy_observability import DASHBOARDS, OUTPUT, RULES, stale, write
from tests.deploy.manifests import ROOT, crd_schemas, errors, kustomize


def test_generated_objects_are_up_to_date() -> None:
    assert stale(ROOT) == [], "run make deploy-observability"


def test_no_rules_and_no_dashboards_give_no_objects(tmp_path: Path) -> None:
    write(tmp_path)
    assert sorted(p.name for p in (tmp_path / OUTPUT).iterdir()) == ["kustomization.yaml"]
    assert kustomize(tmp_path / OUTPUT) == []


def test_rules_and_dashboards_become_valid_objects(tmp_path: Path) -> None:
    rules = tmp_path / RULES
    rules.mkdir(parents=True)
    group = {
        "name": "shortlist-lag",
        "rules": [
            {
                "alert": "LagHigh",
                "expr": "sum(shortlist_consumer_lag) > 1000",
                "for": "10m",
                "labels": {"severity": "page"},
            }
        ],
    }
    (rules / "lag.yml").write_text(json.dumps({"groups": [group]}))
    (rules / "empty.yml").write_text("")
    dashboards = tmp_path / DASHBOARDS
    dashboards.mkdir(parents=True)
    (dashboards / "pipeline_overview.json").write_text('{"title": "Pipeline", "panels": []}')

    write(tmp_path)
    docs = kustomize(tmp_path / OUTPUT)
    assert errors(docs, crd_schemas()) == []
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    assert rule["spec"]["groups"] == [group]
    board = next(d for d in docs if d["kind"] == "ConfigMap")
    assert board["metadata"]["labels"] == {"grafana_dashboard": "1"}
    assert json.loads(board["data"]["pipeline_overview.json"]) == {"title": "Pipeline", "panels": []}
    assert stale(tmp_path) == []

    (dashboards / "pipeline_overview.json").unlink()
    assert stale(tmp_path) == ["dashboards.yaml", "kustomization.yaml"]
