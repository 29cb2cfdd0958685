"""Grafana dashboards as code: ``python -m scripts.dashboards`` writes deploy/grafana/dashboards/*.json."""
