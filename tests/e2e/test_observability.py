"""The proof of deploy/: a real Prometheus scrapes the running stack while real CVs (and a bad record) flow;
every dashboard panel must return data and every rule must evaluate."""

import asyncio
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from scripts.observe import LocalPrometheus
from shortlist.cli.main import app
from shortlist.cli.stack import Stack
from shortlist.runtime.broker import free_port
from shortlist.runtime.events import encode_headers, new_envelope
from shortlist.runtime.topics import CV_SUBMITTED
from shortlist.v1 import cv_pb2
from tests.deploy.promql import DASHBOARDS, check_dashboards, dashboard_targets, query, require_prometheus
from tests.documents import make_docx, make_pdf
from tests.e2e.conftest import Llm, Receiver
from tests.e2e.test_pipeline import JOB, auth, wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SKILLS = ["Python, Kafka, PostgreSQL", "Java, Spring, MySQL", "Go, Kubernetes, Redis", "Python, Django, Celery"]


def cv_lines(n: int) -> list[str]:
    return [
        f"Candidate {n}",
        f"candidate{n}@example.com",
        "Experience",
        f"Engineer at Company {n} (2018-2024): built services with {SKILLS[n % len(SKILLS)]}.",
        "Skills",
        SKILLS[n % len(SKILLS)],
    ]


async def _wave(stack: Stack, job_id: str, first: int) -> list[str]:
    """Upload two CVs (a PDF and a DOCX), search, and wait until both are notified."""
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=auth(stack), timeout=30) as ingest:
        ids = []
        for name, body, kind in [
            (f"cv{first}.pdf", make_pdf(cv_lines(first)), "application/pdf"),
            (
                f"cv{first + 1}.docx",
                make_docx(cv_lines(first + 1)),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
        ]:
            response = await ingest.post(
                "/v1/applications", data={"job_id": job_id}, files={"file": (name, body, kind)}
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        for app_id in ids:
            status = await wait_for_status(ingest, app_id, {"notified", "failed"})
            assert status["status"] == "notified", status
    async with httpx.AsyncClient(base_url=stack.url("embed"), headers=auth(stack), timeout=30) as embed:
        assert (await embed.post("/v1/search", json={"query": "Python and Kafka", "limit": 3})).status_code == 200
        assert (await embed.get(f"/v1/applications/{ids[0]}/similar")).status_code == 200
    return ids


async def _bad_record(stack: Stack) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        headers = encode_headers(new_envelope(cv_pb2.CvSubmitted(application_id="observed-poison"), source="/tests"))
        await producer.send_and_wait(CV_SUBMITTED, b"\xff\x00 not protobuf", key=b"observed-poison", headers=headers)
    finally:
        await producer.stop()


async def _load(stack: Stack, receiver: Receiver, llm: Llm, prometheus: LocalPrometheus) -> None:
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=auth(stack), timeout=30) as ingest:
        job = (await ingest.post("/v1/jobs", json=JOB)).json()
    async with httpx.AsyncClient(base_url=stack.url("notify"), headers=auth(stack), timeout=30) as notify:
        subscription = {"url": receiver.url, "job_id": job["id"]}
        assert (await notify.post("/v1/subscriptions", json=subscription)).status_code == 201
    # Two waves with a successful scrape of every service after each, so every counter and histogram is seen to
    # rise (a busy service can miss a 1 s scrape while it works, and a rate needs a sample on both sides).
    llm.fake.force("rate_limited", "server_error")
    await _wave(stack, job["id"], 0)
    await _bad_record(stack)
    await _scraped_since(prometheus, time.time())
    await _wave(stack, job["id"], 2)
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=auth(stack), timeout=30) as ingest:
        await wait_for_status(ingest, "observed-poison", {"failed"})
    await _scraped_since(prometheus, time.time())
    await asyncio.sleep(3)  # a few more rule evaluations at 1 s


async def _scraped_since(prometheus: LocalPrometheus, since: float, services: int = 4) -> None:
    """Wait until Prometheus holds a successful scrape of every service taken after ``since``."""
    expr = f"count(timestamp(up == 1) > {since:.3f})"
    async with httpx.AsyncClient(base_url=prometheus.url, timeout=10) as client:
        for _ in range(120):
            result = (await client.get("/api/v1/query", params={"query": expr})).json()["data"]["result"]
            if result and int(float(result[0]["value"][1])) >= services:
                return
            await asyncio.sleep(0.25)
    raise AssertionError(f"Prometheus scraped not all {services} services within 30 s")


@pytest.fixture(scope="module")
def observed(stack: Stack, receiver: Receiver, llm: Llm) -> Iterator[httpx.Client]:
    require_prometheus()
    with LocalPrometheus(dict(stack.ports), interval="1s") as prometheus:
        asyncio.run(_load(stack, receiver, llm, prometheus))
        with httpx.Client(base_url=prometheus.url, timeout=30) as client:
            yield client


def test_every_panel_of_every_dashboard_returns_data(
    observed: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = {t.get("service") for t in _active_targets(observed) if t["health"] == "up"}
    assert targets == {"ingest", "embed", "score", "notify"}
    report = check_dashboards(observed)
    boards = len(list(DASHBOARDS.glob("*.json")))
    with capsys.disabled():  # shown in make test's output, not only with -s
        print(
            f"\nPrometheus proof: {len({(t.board, t.panel) for t in dashboard_targets()})} panels of {boards} "
            f"dashboards, {report.evaluated} expressions evaluated, {report.with_data} returned data"
        )
    assert report.problems == []
    assert report.evaluated == report.with_data > 0


def test_every_rule_loads_and_evaluates(observed: httpx.Client, capsys: pytest.CaptureFixture[str]) -> None:
    groups = observed.get("/api/v1/rules").json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert rules, "no rule loaded"
    deadline = time.monotonic() + 10
    while any(r.get("lastEvaluation", "").startswith("0001") for r in rules) and time.monotonic() < deadline:
        time.sleep(0.5)
        rules = [rule for group in observed.get("/api/v1/rules").json()["data"]["groups"] for rule in group["rules"]]
    problems = [f"{r['name']}: {r.get('lastError')}" for r in rules if r["health"] != "ok"]
    for rule in rules:
        error, _ = query(observed, rule["query"])
        if error:
            problems.append(f"{rule['name']}: {error}")
    recorded = [r for r in rules if r["type"] == "recording"]
    with capsys.disabled():
        print(
            f"\nPrometheus proof: {len(rules)} rule expressions evaluated ({len(recorded)} recording, "
            f"{len(rules) - len(recorded)} alerting), all healthy: {not problems}"
        )
    assert problems == []
    ratio = query(observed, "shortlist:e2e_scored_within_slo:ratio_rate1h")[1]
    assert ratio and float(ratio[0]["value"][1]) == 1.0, "every CV here was scored within 60 s"


def test_a_dashboard_naming_a_metric_no_service_exports_fails_the_check(observed: httpx.Client, tmp_path: Path) -> None:
    shutil.copy(DASHBOARDS / "pipeline.json", tmp_path / "pipeline.json")
    board = json.loads((tmp_path / "pipeline.json").read_text())
    panel = next(p for p in board["panels"] if p.get("title") == "Throughput per stage")
    panel["targets"][0]["expr"] = panel["targets"][0]["expr"].replace(
        "shortlist_records_in_total", "shortlist_records_consumed_total"
    )
    (tmp_path / "pipeline.json").write_text(json.dumps(board))
    report = check_dashboards(observed, tmp_path)
    assert report.problems == [f"pipeline / Throughput per stage: no data for {panel['targets'][0]['expr']}"]


def _active_targets(client: httpx.Client) -> list[dict[str, str]]:
    targets = client.get("/api/v1/targets").json()["data"]["activeTargets"]
    return [{"service": t["labels"].get("service", ""), "health": t["health"]} for t in targets]


def test_top_shows_the_pipeline_from_prometheus_and_from_the_services_metrics(
    observed: httpx.Client, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, port in stack.ports.items():
        monkeypatch.setenv(f"SHORTLIST_{name.upper()}_PORT", str(port))
    screens = {}
    for mode, url in (
        ("prometheus", str(observed.base_url).rstrip("/")),
        ("metrics", f"http://127.0.0.1:{free_port()}"),
    ):
        result = CliRunner().invoke(app, ["top", "--once", "--interval", "0.5", "--prometheus", url])
        assert result.exit_code == 0, result.output
        screens[mode] = result.output
    assert "from Prometheus" in screens["prometheus"] and "from services' /metrics" in screens["metrics"]
    for screen in screens.values():
        notified = re.search(r"^\s*notified\s+(\d+)\s*$", screen, re.M)
        assert notified and int(notified.group(1)) >= 4, screen  # the four CVs of the two waves at least
        assert re.search(r"cv\.submitted\.v1 undecodable.*\s[1-9]", screen), screen  # the bad record's dead letter
        assert re.search(r"p95.*\d+ (ms|s)", screen), screen  # end-to-end latency figures
