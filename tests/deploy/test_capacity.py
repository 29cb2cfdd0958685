"""docs/deploy.md carries the capacity plan that make capacity prints, and prod can scale to it."""

import re

from scripts.capacity import table
from tests.deploy.manifests import ROOT, find, one, render


def plan_rows() -> list[dict[str, str]]:
    lines = [line for line in table().splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines[2:]]


def test_the_doc_carries_the_scripts_table() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    block = re.search(r"<!-- capacity -->\n(.*?)\n<!-- /capacity -->", doc, re.S)
    assert block is not None, "docs/deploy.md has no capacity block"
    assert block.group(1).strip() == table().strip(), "run make capacity and copy its table into docs/deploy.md"


def test_prod_scales_as_far_as_the_plan_needs() -> None:
    prod = render("prod")
    rows = plan_rows()
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in find(prod, "KafkaTopic")}
    for service in ("ingest", "embed", "score", "notify"):
        scaled = one(prod, "ScaledObject", service)["spec"]
        needed = max(int(r[service]) for r in rows)
        assert scaled["maxReplicaCount"] >= needed, f"{service} needs {needed} replicas at the largest volume"
        for trigger in scaled["triggers"]:
            if trigger["type"] == "kafka":
                # More consumers than partitions would idle: KEDA caps them there.
                assert needed <= partitions[trigger["metadata"]["topic"]], (service, trigger["metadata"]["topic"])
    config = one(prod, "ConfigMap", "score-config")["data"]
    assert config["SHORTLIST_SCORER"] == "llm"
    needed_rpm = max(float(r["LLM requests/min at peak"].replace(",", "")) for r in rows if r["scorer"] == "llm")
    assert float(config["SHORTLIST_LLM_REQUESTS_PER_MINUTE"]) >= needed_rpm
