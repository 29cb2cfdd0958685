"""The ingest service in-process on the session broker: REST API, CvIngested events, the read model and DLTs."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from fastapi import FastAPI

from shortlist.ingest.app import build
from shortlist.ingest.config import Settings
from shortlist.ingest.handlers import IngestHandlers
from shortlist.runtime.events import decode_message, encode_headers, header_map, new_envelope
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_INGESTED, CV_SUBMITTED, JOBS_POSTED, dlt
from shortlist.v1 import common_pb2, cv_pb2, jobs_pb2, notify_pb2, score_pb2
from tests.documents import make_docx_bomb, make_encrypted_pdf, make_pdf, make_png

JOB = {
    "title": "Backend engineer",
    "description": "We build services.\n\n## Must have\n- Python\n- Apache Kafka\n\n## Nice to have\n- Kubernetes\n",
}
CV_LINES = [
    "Ada Example",
    "ada@example.com, +44 20 7946 0958",
    "Summary",
    "Backend engineer building event-driven Python services.",
    "Experience",
    "Streamworks (2019-2024): Python consumers of Apache Kafka topics.",
    "Skills",
    "Python, Kafka, Kubernetes",
]
MAX_UPLOAD = 200_000
API_KEYS = "test-key, reader-key:jobs:read applications:read"


async def start_group_at_end(settings: KafkaSettings, group: str, topics: list[str]) -> None:
    """Commit the current end offsets for a new group, so the service skips other tests' older records."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(settings.kafka_partitions)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def running_ingest(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """Ingest built from ``settings`` and running, its consumer group starting at the end of every topic (older
    tests' records are not its business); a client of its API with key test-key, and the app."""
    service, app = build(settings)
    topics = list(IngestHandlers(None, None).routes())  # type: ignore[arg-type]
    await start_group_at_end(settings, settings.consumer_group, topics)
    async with service.running():
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": "Bearer test-key"}
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest", headers=headers, timeout=30) as c:
            yield c, app


@pytest.fixture(scope="module")
async def ingest(
    kafka_settings: KafkaSettings, topics_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        **kafka_settings.model_dump(),
        state_dir=tmp_path_factory.mktemp("ingest-state"),
        consumer_group=f"shortlist-ingest-{uuid.uuid4().hex[:8]}",
        max_upload_bytes=MAX_UPLOAD,
        api_keys=API_KEYS,
    )
    async with running_ingest(settings) as (client, _):
        yield client


async def find_record(
    settings: KafkaSettings,
    topic: str,
    key: str,
    within: float = 30,
    match: Callable[[ConsumerRecord[bytes, bytes]], bool] = lambda _: True,
) -> ConsumerRecord[bytes, bytes]:
    """The first record with ``key`` (and ``match``) on ``topic``, read from the start without a consumer group."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for found in records:
                    if found.key == key.encode() and match(found):
                        return found
        raise AssertionError(f"no record with key {key} on {topic}")
    finally:
        await consumer.stop()


async def wait_for(
    client: httpx.AsyncClient, app_id: str, done: Callable[[dict[str, Any]], bool], within: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await client.get(f"/v1/applications/{app_id}")
        if response.status_code == 200:
            body = response.json()
            if done(body):
                return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"application {app_id} did not get there: {body}")


async def create_job(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/v1/jobs", json=JOB)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


async def upload(client: httpx.AsyncClient, job_id: str, data: bytes, filename: str, **fields: str) -> httpx.Response:
    return await client.post(
        "/v1/applications",
        data={"job_id": job_id, **fields},
        files={"file": (filename, data, "application/octet-stream")},
    )


async def test_job_is_stored_derived_and_published(ingest: httpx.AsyncClient, kafka_settings: KafkaSettings) -> None:
    job = await create_job(ingest)
    assert job["version"] == 1 and job["title"] == "Backend engineer"
    assert [(r["id"], r["text"], r["kind"], r["weight"]) for r in job["requirements"]] == [
        (f"{job['id']}-r1", "Python", "must", 1.0),
        (f"{job['id']}-r2", "Apache Kafka", "must", 1.0),
        (f"{job['id']}-r3", "Kubernetes", "nice", 0.5),
    ]
    assert (await ingest.get(f"/v1/jobs/{job['id']}")).json() == job

    explicit = await ingest.post(
        "/v1/jobs",
        json={"title": "SRE", "description": "Run things.", "requirements": [{"text": "Linux", "kind": "nice"}]},
    )
    assert explicit.json()["requirements"][0]["weight"] == 0.5

    missing = await ingest.get("/v1/jobs/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"
    blank = await ingest.post("/v1/jobs", json={"title": " ", "description": "x"})
    assert blank.status_code == 422

    posted = await find_record(kafka_settings, JOBS_POSTED, job["id"])
    event = decode_message(JOBS_POSTED, header_map(posted.headers), posted.value)
    assert isinstance(event, jobs_pb2.JobPosted)
    assert [r.kind for r in event.requirements] == [
        common_pb2.REQUIREMENT_KIND_MUST,
        common_pb2.REQUIREMENT_KIND_MUST,
        common_pb2.REQUIREMENT_KIND_NICE,
    ]


async def test_pdf_upload_publishes_cv_ingested(ingest: httpx.AsyncClient, kafka_settings: KafkaSettings) -> None:
    job = await create_job(ingest)
    response = await upload(ingest, job["id"], make_pdf(CV_LINES), "ada.pdf", external_id="ats-1")
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "ingested" and accepted["job_id"] == job["id"]
    assert accepted["status_url"] == f"/v1/applications/{accepted['id']}"

    found = await find_record(kafka_settings, CV_INGESTED, accepted["id"])
    event = decode_message(CV_INGESTED, header_map(found.headers), found.value)
    assert isinstance(event, cv_pb2.CvIngested)
    assert event.job_id == job["id"] and event.content_type == "application/pdf" and event.pages == 1
    assert "Python consumers of Apache Kafka topics" in event.text
    assert event.redacted_text.startswith("[NAME]\n[EMAIL], [PHONE]\n")
    assert "Ada" not in event.redacted_text
    assert {p.kind for p in event.pii} == {"name", "email", "phone"}
    assert [s.name for s in event.sections] == ["other", "summary", "experience", "skills"]
    assert event.submitted_at.seconds > 0 and len(event.content_hash) == 64

    status = (await ingest.get(accepted["status_url"])).json()
    assert status["status"] == "ingested" and status["failure"] is None and status["score"] is None
    assert [t["status"] for t in status["timeline"]] == ["received", "ingested"]
    assert status["external_id"] == "ats-1"


async def test_bad_uploads_are_refused_with_codes(ingest: httpx.AsyncClient) -> None:
    job = await create_job(ingest)
    cases = [
        (job["id"], make_png(), "photo.pdf", 415, "unsupported_media_type"),
        (job["id"], make_encrypted_pdf(CV_LINES), "locked.pdf", 422, "encrypted_document"),
        (job["id"], make_docx_bomb(60 * 1024 * 1024), "bomb.docx", 413, "too_large"),
        (job["id"], b"", "empty.txt", 422, "empty_text"),
        (job["id"], b"x" * (MAX_UPLOAD + 1), "big.txt", 413, "too_large"),
        ("no-such-job", b"Skills: Python", "cv.txt", 404, "job_not_found"),
    ]
    for job_id, data, filename, status, code in cases:
        response = await upload(ingest, job_id, data, filename)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), filename
    missing = await ingest.get("/v1/applications/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "application_not_found"


async def test_read_model_follows_downstream_events(ingest: httpx.AsyncClient, producer: EventProducer) -> None:
    job = await create_job(ingest)
    app_id = (await upload(ingest, job["id"], "\n".join(CV_LINES).encode(), "cv.txt", candidate_name="Ada")).json()[
        "id"
    ]
    requirement = common_pb2.Requirement(id=f"{job['id']}-r1", text="Python", kind=common_pb2.REQUIREMENT_KIND_MUST)
    score = score_pb2.CvScored(
        application_id=app_id,
        job_id=job["id"],
        job_version=1,
        score=81.5,
        recommendation=score_pb2.RECOMMENDATION_ADVANCE,
        scorer="rubric",
        requirements=[
            score_pb2.RequirementScore(
                requirement=requirement,
                score=95,
                verdict=score_pb2.VERDICT_MET,
                quotes=[score_pb2.Quote(text="Python consumers of Apache Kafka topics")],
            )
        ],
    )
    await producer.publish(score, key=app_id)
    body = await wait_for(ingest, app_id, lambda b: b["status"] == "scored")
    assert body["score"]["score"] == 81.5 and body["score"]["recommendation"] == "advance"
    assert body["score"]["requirements"][0]["verdict"] == "met"

    # A late CvEmbedded does not move the status back.
    await producer.publish(cv_pb2.CvEmbedded(application_id=app_id, job_id=job["id"], job_version=1), key=app_id)
    body = await wait_for(ingest, app_id, lambda b: "embedded" in [t["status"] for t in b["timeline"]])
    assert body["status"] == "scored"

    delivered = notify_pb2.DeliveryAttempted(application_id=app_id, job_id=job["id"], outcome="delivered")
    await producer.publish(delivered, key=app_id)
    body = await wait_for(ingest, app_id, lambda b: b["status"] == "notified")
    assert [t["status"] for t in body["timeline"]] == ["received", "ingested", "embedded", "scored", "notified"]

    ranking = (await ingest.get(f"/v1/jobs/{job['id']}/ranking")).json()
    assert ranking["total"] == 1
    assert ranking["items"] == [
        {
            "application_id": app_id,
            "candidate_name": "Ada",
            "external_id": None,
            "score": 81.5,
            "recommendation": "advance",
            "status": "notified",
            "top_evidence": [{"requirement": "Python", "quote": "Python consumers of Apache Kafka topics"}],
            "override": None,
        }
    ]


async def test_dead_letter_marks_the_application_failed(ingest: httpx.AsyncClient, producer: EventProducer) -> None:
    job = await create_job(ingest)
    app_id = (await upload(ingest, job["id"], "\n".join(CV_LINES).encode(), "cv.txt")).json()["id"]
    original = cv_pb2.CvIngested(application_id=app_id, job_id=job["id"])
    headers = [
        *encode_headers(new_envelope(original, source="/tests")),
        ("dlt-original-topic", CV_INGESTED.encode()),
        ("dlt-original-partition", b"0"),
        ("dlt-original-offset", b"0"),
        ("dlt-exception-type", b"embedding_failed"),
        ("dlt-exception-message", b"gave up after 4 tries: model unavailable"),
    ]
    await producer.send_raw(dlt(CV_INGESTED), app_id.encode(), original.SerializeToString(), headers)
    body = await wait_for(ingest, app_id, lambda b: b["status"] == "failed")
    assert body["failure"] == {
        "code": "embedding_failed",
        "message": "gave up after 4 tries: model unavailable",
        "step": "embed",
    }
    assert body["timeline"][-1]["status"] == "failed"


async def test_upstream_submissions(
    ingest: httpx.AsyncClient, producer: EventProducer, kafka_settings: KafkaSettings
) -> None:
    job = await create_job(ingest)
    good, png, orphan = (f"upstream-{uuid.uuid4().hex[:8]}" for _ in range(3))
    await producer.publish(
        cv_pb2.CvSubmitted(application_id=good, job_id=job["id"], text="\n".join(CV_LINES), external_id="ats-9"),
        key=good,
    )
    await producer.publish(
        cv_pb2.CvSubmitted(application_id=png, job_id=job["id"], content=make_png(), filename="cv.pdf"), key=png
    )
    await producer.publish(cv_pb2.CvSubmitted(application_id=orphan, job_id="no-such-job", text="Python"), key=orphan)
    locked = f"upstream-{uuid.uuid4().hex[:8]}"
    await producer.publish(
        cv_pb2.CvSubmitted(application_id=locked, job_id=job["id"], content=make_encrypted_pdf(CV_LINES)), key=locked
    )

    found = await find_record(kafka_settings, CV_INGESTED, good)
    event = decode_message(CV_INGESTED, header_map(found.headers), found.value)
    assert isinstance(event, cv_pb2.CvIngested) and event.extractor == "text" and event.job_id == job["id"]
    assert (await wait_for(ingest, good, lambda b: b["status"] == "ingested"))["external_id"] == "ats-9"

    dead = await find_record(kafka_settings, dlt(CV_SUBMITTED), png)
    assert header_map(dead.headers)["dlt-exception-type"] == "unsupported_media_type"
    failed = await wait_for(ingest, png, lambda b: b["status"] == "failed")
    assert failed["failure"]["code"] == "unsupported_media_type" and failed["failure"]["step"] == "ingest"
    orphaned = await wait_for(ingest, orphan, lambda b: b["status"] == "failed")
    assert orphaned["failure"]["code"] == "job_not_found"
    dead = await find_record(kafka_settings, dlt(CV_SUBMITTED), locked)
    assert header_map(dead.headers)["dlt-exception-type"] == "encrypted_document"


async def test_every_v1_route_needs_a_key_with_its_scope(ingest: httpx.AsyncClient) -> None:
    job = await create_job(ingest)
    routes = [
        ("GET", "/v1/jobs", "jobs:read"),
        ("GET", f"/v1/jobs/{job['id']}", "jobs:read"),
        ("POST", "/v1/jobs", "jobs:write"),
        ("GET", f"/v1/jobs/{job['id']}/ranking", "applications:read"),
        ("POST", "/v1/applications", "applications:write"),
        ("GET", "/v1/applications/some-id", "applications:read"),
        ("POST", "/v1/applications/some-id/override", "applications:write"),
        ("DELETE", "/v1/candidates/some-id", "candidates:write"),
    ]
    for method, path, scope in routes:
        anonymous = await ingest.request(method, path, headers={"Authorization": ""})
        assert anonymous.status_code == 401, path
        assert anonymous.json()["error"]["code"] == "unauthorized"
        unknown = await ingest.request(method, path, headers={"Authorization": "Bearer not-a-key"})
        assert unknown.status_code == 401, path
        reader = await ingest.request(method, path, headers={"Authorization": "Bearer reader-key"}, json={})
        if scope.endswith(":write"):
            assert reader.status_code == 403, path
            assert reader.json()["error"] == {"code": "forbidden", "message": f"the API key lacks the scope '{scope}'"}
        else:
            assert reader.status_code in (200, 404), path
    assert (await ingest.get("/healthz", headers={"Authorization": ""})).status_code == 200


async def test_without_configured_keys_every_v1_call_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = Settings(state_dir=tmp_path_factory.mktemp("ingest-nokeys"), api_keys="")
    _, app = build(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as client:
        for key in ("", "Bearer test-key"):
            response = await client.get("/v1/jobs", headers={"Authorization": key})
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"


async def test_a_new_job_version_is_published_and_the_old_one_kept(
    ingest: httpx.AsyncClient, kafka_settings: KafkaSettings
) -> None:
    job = await create_job(ingest)
    changed = {"title": "Senior backend engineer", "description": "## Must have\n- Go\n\n## Nice to have\n- Rust\n"}
    response = await ingest.put(f"/v1/jobs/{job['id']}", json=changed)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["id"] == job["id"] and updated["version"] == 2 and updated["title"] == "Senior backend engineer"
    assert [(r["id"], r["text"], r["kind"]) for r in updated["requirements"]] == [
        (f"{job['id']}-r1", "Go", "must"),
        (f"{job['id']}-r2", "Rust", "nice"),
    ]
    assert (await ingest.get(f"/v1/jobs/{job['id']}")).json() == updated
    assert (await ingest.get(f"/v1/jobs/{job['id']}", params={"version": 1})).json() == job
    assert (await ingest.get(f"/v1/jobs/{job['id']}", params={"version": 3})).status_code == 404
    assert (await ingest.put("/v1/jobs/no-such-job", json=changed)).status_code == 404

    def version_2(record: ConsumerRecord[bytes, bytes]) -> bool:
        event = decode_message(JOBS_POSTED, header_map(record.headers), record.value)
        return isinstance(event, jobs_pb2.JobPosted) and event.version == 2

    posted = await find_record(kafka_settings, JOBS_POSTED, job["id"], match=version_2)
    event = decode_message(JOBS_POSTED, header_map(posted.headers), posted.value)
    assert isinstance(event, jobs_pb2.JobPosted) and [r.text for r in event.requirements] == ["Go", "Rust"]

    listed = (await ingest.get("/v1/jobs", params={"limit": 200})).json()
    assert updated in listed["items"] and listed["total"] >= 1


async def test_json_text_applications_and_duplicates(ingest: httpx.AsyncClient, kafka_settings: KafkaSettings) -> None:
    job = await create_job(ingest)
    text = "\n".join(CV_LINES)
    first = await ingest.post("/v1/applications", json={"job_id": job["id"], "text": text, "candidate_name": "Ada"})
    assert first.status_code == 202, first.text
    accepted = first.json()
    assert accepted["status"] == "ingested" and accepted["status_url"] == f"/v1/applications/{accepted['id']}"
    found = await find_record(kafka_settings, CV_INGESTED, accepted["id"])
    event = decode_message(CV_INGESTED, header_map(found.headers), found.value)
    assert isinstance(event, cv_pb2.CvIngested) and event.extractor == "text" and "Apache Kafka" in event.text

    again = await ingest.post("/v1/applications", json={"job_id": job["id"], "text": text})
    assert again.status_code == 200
    assert again.json()["id"] == accepted["id"] and again.json()["duplicate"] is True
    as_file = await upload(ingest, job["id"], text.encode(), "cv.txt")
    assert (as_file.status_code, as_file.json()["id"]) == (200, accepted["id"])

    other_job = await create_job(ingest)
    elsewhere = await ingest.post("/v1/applications", json={"job_id": other_job["id"], "text": text})
    assert elsewhere.status_code == 202 and elsewhere.json()["id"] != accepted["id"]

    markdown = await ingest.post(
        "/v1/applications", json={"job_id": job["id"], "text": "# Skills\n\n* **Go**", "filename": "cv.md"}
    )
    assert markdown.status_code == 202
    bad = [
        ({"job_id": job["id"]}, 422, "invalid_request"),
        ({"job_id": "no-such-job", "text": "Python"}, 404, "job_not_found"),
        ({"job_id": job["id"], "text": "   "}, 422, "empty_text"),
        ({"job_id": job["id"], "text": "x" * (MAX_UPLOAD + 1)}, 413, "too_large"),
    ]
    for body, status, code in bad:
        response = await ingest.post("/v1/applications", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    plain = await ingest.post("/v1/applications", content=b"Python", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415


async def test_batch_of_files_answers_per_file(ingest: httpx.AsyncClient) -> None:
    job = await create_job(ingest)
    pdf = make_pdf([*CV_LINES, f"Reference {uuid.uuid4().hex}"])
    files = [
        ("files", ("one.pdf", pdf, "application/pdf")),
        ("files", ("photo.pdf", make_png(), "application/pdf")),
        ("files", ("again.pdf", pdf, "application/pdf")),
        ("files", ("two.txt", f"Skills\nGo and Rust {uuid.uuid4().hex}".encode(), "text/plain")),
    ]
    response = await ingest.post("/v1/applications/batch", data={"job_id": job["id"]}, files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["accepted"], body["duplicates"], body["refused"]) == (4, 2, 1, 1)
    items = body["items"]
    assert [(i["filename"], i["status_code"]) for i in items] == [
        ("one.pdf", 202),
        ("photo.pdf", 415),
        ("again.pdf", 200),
        ("two.txt", 202),
    ]
    assert items[1]["error"]["code"] == "unsupported_media_type"
    assert items[2]["id"] == items[0]["id"]
    status = (await ingest.get(items[3]["status_url"])).json()
    assert status["status"] == "ingested"

    too_many = [("files", (f"{n}.txt", b"Python", "text/plain")) for n in range(101)]
    refused = await ingest.post("/v1/applications/batch", data={"job_id": job["id"]}, files=too_many)
    assert (refused.status_code, refused.json()["error"]["code"]) == (413, "too_many_files")
    unknown = await ingest.post("/v1/applications/batch", data={"job_id": "nope"}, files=files[:1])
    assert unknown.status_code == 404


async def test_ranking_filters_and_pages(ingest: httpx.AsyncClient, producer: EventProducer) -> None:
    job = await create_job(ingest)
    results = [(91.0, score_pb2.RECOMMENDATION_ADVANCE), (64.0, score_pb2.RECOMMENDATION_REVIEW)]
    results += [(58.0, score_pb2.RECOMMENDATION_REVIEW), (12.0, score_pb2.RECOMMENDATION_REJECT)]
    ids = []
    for index, (score, recommendation) in enumerate(results):
        text = f"Skills\nPython {index} {uuid.uuid4().hex}"
        app_id = (await ingest.post("/v1/applications", json={"job_id": job["id"], "text": text})).json()["id"]
        ids.append(app_id)
        scored = score_pb2.CvScored(
            application_id=app_id, job_id=job["id"], job_version=1, score=score, recommendation=recommendation
        )
        await producer.publish(scored, key=app_id)
    for app_id in ids:
        await wait_for(ingest, app_id, lambda b: b["status"] == "scored")
    url = f"/v1/jobs/{job['id']}/ranking"

    async def ranked(**params: Any) -> tuple[int, list[str]]:
        body = (await ingest.get(url, params=params)).json()
        return body["total"], [item["application_id"] for item in body["items"]]

    assert await ranked() == (4, ids)
    assert await ranked(recommendation="review") == (2, ids[1:3])
    assert await ranked(recommendation=["advance", "reject"]) == (2, [ids[0], ids[3]])
    assert await ranked(min_score=60) == (2, ids[:2])
    assert await ranked(min_score=50, recommendation="review") == (2, ids[1:3])
    assert await ranked(limit=2) == (4, ids[:2])
    assert await ranked(limit=2, offset=2) == (4, ids[2:])
    wrong = await ingest.get(url, params={"recommendation": "hire"})
    assert wrong.status_code == 422
