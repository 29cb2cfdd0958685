"""One application from HTTP upload to a signed webhook, through all four services running as processes."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shortlist.cli.stack import Stack
from shortlist.notify.signing import verify
from shortlist.runtime.events import encode_headers, header_map, new_envelope
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_SUBMITTED, dlt
from shortlist.v1 import cv_pb2
from tests.documents import make_pdf
from tests.e2e.conftest import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

JOB = {
    "title": "Backend engineer",
    "description": (
        "We build event-driven services.\n\n## Must have\n- Python services in production\n"
        "- Apache Kafka or another event broker\n- PostgreSQL\n\n## Nice to have\n- Kubernetes\n"
    ),
}
CV_LINES = [
    "Ada Example",
    "ada@example.com",
    "Summary",
    "Backend engineer who builds event-driven Python services.",
    "Experience",
    "Senior engineer at Streamworks (2019-2024): Python microservices consuming Apache Kafka topics,",
    "PostgreSQL schemas and queries, deployments on Kubernetes.",
    "Education",
    "MSc Computer Science, 2018",
    "Skills",
    "Python, Kafka, PostgreSQL, Kubernetes, Docker",
]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def auth(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.api_key}"}


async def wait_for_status(
    client: httpx.AsyncClient, app_id: str, wanted: set[str], within: float = 180
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await client.get(f"/v1/applications/{app_id}")
        if response.status_code == 200:
            body = response.json()
            if body["status"] in wanted:
                return body
        await asyncio.sleep(0.5)
    raise AssertionError(f"application {app_id} never reached {wanted}: last {body}")


async def test_pdf_upload_is_scored_notified_and_ranked(stack: Stack, receiver: Receiver) -> None:
    async with httpx.AsyncClient(base_url=stack.url("notify"), headers=auth(stack), timeout=30) as notify:
        subscription = (await notify.post("/v1/subscriptions", json={"url": receiver.url})).json()
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=auth(stack), timeout=30) as ingest:
        job = (await ingest.post("/v1/jobs", json=JOB)).json()
        response = await ingest.post(
            "/v1/applications",
            data={"job_id": job["id"]},
            files={"file": ("ada.pdf", make_pdf(CV_LINES), "application/pdf")},
            headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
        )
        assert response.status_code == 202, response.text
        app_id = response.json()["id"]

        status = await wait_for_status(ingest, app_id, {"notified", "failed"})
        assert status["status"] == "notified", status
        steps = [step["status"] for step in status["timeline"]]
        assert steps[-4:] == ["ingested", "embedded", "scored", "notified"]
        assert 0 <= status["score"]["score"] <= 100
        assert len(status["score"]["requirements"]) == 4

        ranking = (await ingest.get(f"/v1/jobs/{job['id']}/ranking")).json()
        assert [item["application_id"] for item in ranking["items"]] == [app_id]

    headers, body = next((h, b) for h, b in receiver.deliveries if json.loads(b)["application_id"] == app_id)
    assert verify(subscription["secret"], headers, body)
    assert json.loads(body)["score"] == pytest.approx(status["score"]["score"])

    spans = await _spans_of_trace(stack.state_dir, TRACE_ID, {"ingest", "embed", "score", "notify"})
    names = {span["name"] for span in spans}
    assert {"cv.ingested.v1 process", "cv.embedded.v1 process", "cv.scored.v1 process"} <= names


async def _spans_of_trace(
    state_dir: Path, trace_id: str, services: set[str], within: float = 30
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        spans = [
            span
            for file in (state_dir / "traces").glob("*.jsonl")
            for line in file.read_text().splitlines()
            if (span := json.loads(line))["trace_id"] == trace_id
        ]
        if {str(s["service"]).removeprefix("shortlist-") for s in spans} >= services:
            return spans
        await asyncio.sleep(0.5)
    raise AssertionError(f"spans of trace {trace_id} came from {sorted({s['service'] for s in spans})} only")


async def test_undecodable_submission_is_dead_lettered_and_the_next_one_flows(stack: Stack) -> None:
    settings = KafkaSettings(kafka_bootstrap=stack.bootstrap)
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=auth(stack), timeout=30) as ingest:
        job = (await ingest.post("/v1/jobs", json=JOB)).json()
        valid = cv_pb2.CvSubmitted(
            application_id="app-after-poison", job_id=job["id"], text="\n".join(CV_LINES), filename="cv.txt"
        )
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        await producer.start()
        try:
            poison_headers = encode_headers(new_envelope(valid, source="/tests"))
            await producer.send_and_wait(
                CV_SUBMITTED, b"\xff\x00 not protobuf", key=b"poisoned", headers=poison_headers
            )
            await producer.send_and_wait(
                CV_SUBMITTED,
                valid.SerializeToString(),
                key=valid.application_id.encode(),
                headers=encode_headers(new_envelope(valid, source="/tests")),
            )
        finally:
            await producer.stop()

        dead = await _first_record(settings, dlt(CV_SUBMITTED), key=b"poisoned")
        headers = header_map(dead.headers)
        assert headers["dlt-original-topic"] == CV_SUBMITTED
        assert headers["dlt-exception-message"]
        status = await wait_for_status(ingest, valid.application_id, {"scored", "notified", "failed"})
        assert status["status"] in {"scored", "notified"}, status
        poisoned = await wait_for_status(ingest, "poisoned", {"failed"})
        assert poisoned["failure"]["code"] == "undecodable"


async def _first_record(settings: KafkaSettings, topic: str, key: bytes, within: float = 60) -> Any:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key == key:
                        return record
        raise AssertionError(f"no record with key {key!r} on {topic}")
    finally:
        await consumer.stop()
