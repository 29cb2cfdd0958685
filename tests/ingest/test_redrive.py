"""Re-drive: ingest publishes again, with the same event ids, the stored work of applications left behind."""

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from fastapi import FastAPI

from shortlist.ingest.config import Settings
from shortlist.ingest.handlers import IngestHandlers
from shortlist.ingest.store import Store, StoredWork
from shortlist.runtime.events import header_map, new_envelope
from shortlist.runtime.records import Record
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_INGESTED, JOBS_POSTED, NOTIFY_DELIVERED
from shortlist.v1 import notify_pb2
from tests.ingest.test_api import JOB, running_ingest

API_KEYS = "test-key, reader-key:jobs:read applications:read"


@pytest.fixture(scope="module")
async def ingest(
    kafka_settings: KafkaSettings, topics_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    settings = Settings(
        **kafka_settings.model_dump(),
        state_dir=tmp_path_factory.mktemp("ingest-redrive"),
        consumer_group=f"shortlist-ingest-{uuid.uuid4().hex[:8]}",
        api_keys=API_KEYS,
        redrive_interval_seconds=0,
        redrive_start_delay_seconds=3600,  # only on request here
    )
    async with running_ingest(settings) as running:
        yield running


async def records_with_key(settings: KafkaSettings, topic: str, key: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` with ``key`` now on the broker, read without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.kafka_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all([await consumer.position(tp) >= ends[tp] for tp in partitions]):
                break
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(r for r in records if r.key == key.encode())
        return found
    finally:
        await consumer.stop()


async def submit(client: httpx.AsyncClient, job_id: str, text: str) -> str:
    response = await client.post("/v1/applications", json={"job_id": job_id, "text": text})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_only_applications_left_behind_are_redriven_with_their_first_event_ids(
    ingest: tuple[httpx.AsyncClient, FastAPI], kafka_settings: KafkaSettings
) -> None:
    client, app = ingest
    store: Store = app.state.store
    job = (await client.post("/v1/jobs", json=JOB)).json()
    cv = "Ada Example\nSummary\nPython engineer.\nExperience\n{} at Streamworks: Python and Kafka.\nSkills\nPython"
    left_behind = await submit(client, job["id"], cv.format("Backend engineer"))
    notified = await submit(client, job["id"], cv.format("Data engineer"))
    failed = await submit(client, job["id"], cv.format("Platform engineer"))

    # One went all the way (notify reported a delivery), one failed downstream; the other's work was lost.
    delivered = notify_pb2.DeliveryAttempted(delivery_id="d1", application_id=notified, outcome="delivered")
    envelope = new_envelope(delivered, source="/tests")
    await IngestHandlers(store, None).on_delivered(  # type: ignore[arg-type]
        Record(NOTIFY_DELIVERED, 0, 0, notified, {}, envelope, delivered)
    )
    async with store.application_update(failed) as update:
        assert update is not None and update[1] is not None
        update[1].fail("unknown_job", "the job never arrived", "embed", 2, datetime.now(UTC))
    async with store.sessions() as session:
        assert await session.get(StoredWork, notified) is None  # through the pipeline: nothing kept
        assert await session.get(StoredWork, left_behind) is not None

    answer = await client.post("/v1/redrive", params={"older_than_seconds": 0})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"applications": 1, "jobs": 1, "application_ids": [left_behind]}

    first, again = await records_with_key(kafka_settings, CV_INGESTED, left_behind)
    assert header_map(again.headers)["ce_id"] == header_map(first.headers)["ce_id"]
    assert again.value == first.value
    job_records = await records_with_key(kafka_settings, JOBS_POSTED, job["id"])
    assert len(job_records) == 2
    assert len({header_map(r.headers)["ce_id"] for r in job_records}) == 1
    assert len(await records_with_key(kafka_settings, CV_INGESTED, notified)) == 1

    # Just re-driven: not again until the configured time has passed.
    assert (await client.post("/v1/redrive")).json()["applications"] == 0
    status = (await client.get(f"/v1/applications/{left_behind}")).json()["status"]
    assert status == "ingested"


async def test_redrive_needs_a_key_with_the_applications_write_scope(ingest: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, _ = ingest
    assert (await client.post("/v1/redrive", headers={"Authorization": ""})).status_code == 401
    reader = await client.post("/v1/redrive", headers={"Authorization": "Bearer reader-key"})
    assert reader.status_code == 403
    assert reader.json()["error"]["code"]
