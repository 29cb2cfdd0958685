"""A CV with a known name, e-mail address and phone number goes through the whole stack; none of them may appear
in any service's log, in the span files or in any /metrics output. (Stored text is out of scope: it is redacted
where it must be, and the databases are not telemetry.)
"""

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from shortlist.cli.stack import SERVICES, Stack
from tests.documents import make_pdf
from tests.e2e.conftest import Receiver
from tests.e2e.test_pipeline import JOB, auth, wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

NAME = "Zebulon Quixotefield"
EMAIL = "zebulon.quixotefield@example.org"
PHONE = "+44 7700 900123"
TRACE_ID = "5c0ffee5c0ffee5c0ffee5c0ffee5c0f"
NEEDLES = [NAME, "Quixotefield", EMAIL, "zebulon.quixotefield", PHONE, "7700 900123", "7700900123"]
CV = [
    NAME,
    f"{EMAIL} | {PHONE}",
    "Summary",
    "Backend engineer who builds event-driven Python services.",
    "Experience",
    "Engineer at Streamworks (2019-2024): Python services on Apache Kafka and PostgreSQL, Kubernetes.",
    "Skills",
    "Python, Kafka, PostgreSQL, Kubernetes",
]


async def test_name_email_and_phone_never_reach_logs_spans_or_metrics(stack: Stack, receiver: Receiver) -> None:
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=auth(stack), timeout=60) as ingest:
        job = (await ingest.post("/v1/jobs", json=JOB)).json()
        async with httpx.AsyncClient(base_url=stack.url("notify"), headers=auth(stack), timeout=30) as notify:
            # Only this job's scores: other tests verify deliveries to the same receiver with their own secret.
            subscription = {"url": receiver.url, "job_id": job["id"]}
            assert (await notify.post("/v1/subscriptions", json=subscription)).status_code == 201
        fields = {"job_id": job["id"], "candidate_name": NAME, "candidate_email": EMAIL}
        pdf = make_pdf(CV)
        submitted = await ingest.post(
            "/v1/applications",
            data=fields,
            files={"file": ("cv.pdf", pdf)},
            headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
        )
        assert submitted.status_code == 202, submitted.text
        app_id = submitted.json()["id"]
        as_text = await ingest.post("/v1/applications", json={**fields, "text": "\n".join([*CV, "Go"])})
        assert as_text.status_code == 202, as_text.text
        again = await ingest.post("/v1/applications", data=fields, files={"file": ("cv.pdf", pdf)})
        assert again.json().get("duplicate") is True
        for application in (app_id, as_text.json()["id"]):
            status = await wait_for_status(ingest, application, {"notified", "failed"})
            assert status["status"] == "notified", status
        assert any(app_id in body.decode() for _, body in receiver.deliveries)

    await _wait_for_notify_spans(stack)
    haystacks = {str(path.relative_to(stack.state_dir)): path.read_text("utf-8", "replace") for path in _files(stack)}
    async with httpx.AsyncClient(timeout=30) as client:
        for service in SERVICES:
            haystacks[f"{service} /metrics"] = (await client.get(f"{stack.url(service)}/metrics")).text
    assert any(name.startswith("logs/ingest") for name in haystacks) and any(
        name.startswith("traces/") for name in haystacks
    ), sorted(haystacks)
    assert sum(TRACE_ID in text for name, text in haystacks.items() if name.startswith("traces/")) == len(SERVICES)
    found = [
        f"{needle!r} in {name}"
        for name, text in haystacks.items()
        for needle in NEEDLES
        if needle.lower() in text.lower()
    ]
    assert not found, found


def _files(stack: Stack) -> list[Path]:
    return [p for folder in ("logs", "traces") for p in sorted((stack.state_dir / folder).glob("*")) if p.is_file()]


async def _wait_for_notify_spans(stack: Stack, within: float = 30) -> None:
    """Spans are exported in batches: wait until notify's spans of the CV's trace are on disk."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any(TRACE_ID in p.read_text("utf-8", "replace") for p in (stack.state_dir / "traces").glob("*notify*")):
            return
        await asyncio.sleep(0.5)
