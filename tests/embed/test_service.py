"""The embed service in process against the session broker: JobPosted + CvIngested in, CvEmbedded out."""

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from shortlist.embed.app import build
from shortlist.embed.config import Settings
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.store import VectorStore
from shortlist.runtime.events import header_map
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_EMBEDDED, CV_INGESTED, dlt
from shortlist.v1 import common_pb2, cv_pb2
from tests.embed.conftest import MUST, NICE, make_cv, make_job

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

REQUIREMENTS = [
    ("Experience operating Kubernetes clusters", MUST),
    ("Python and PostgreSQL for backend APIs", MUST),
    ("A degree in mathematics or computer science", NICE),
]


class Topics:
    """Reads topics from the beginning by direct assignment (no consumer group to join)."""

    def __init__(self, settings: KafkaSettings, topics: list[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        self._topics = topics
        self.seen: dict[str, list[tuple[dict[str, str], bytes]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Condition()

    async def start(self) -> None:
        await self._consumer.start()
        partitions = [
            TopicPartition(topic, p) for topic in self._topics for p in self._consumer.partitions_for_topic(topic) or ()
        ]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            async with self._arrived:
                for records in batches.values():
                    for raw in records:
                        key = raw.key.decode() if raw.key else ""
                        self.seen[f"{raw.topic}/{key}"].append((header_map(raw.headers), raw.value or b""))
                self._arrived.notify_all()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._consumer.stop()

    async def wait(self, topic: str, key: str, count: int = 1) -> list[tuple[dict[str, str], bytes]]:
        """The records of ``topic`` with ``key`` once there are ``count`` of them (a minute at most)."""
        records = self.seen[f"{topic}/{key}"]
        async with asyncio.timeout(60), self._arrived:
            await self._arrived.wait_for(lambda: len(records) >= count)
        return records


@pytest.fixture(scope="module")
async def topics(kafka_settings: KafkaSettings, topics_ready: None) -> AsyncIterator[Topics]:
    reader = Topics(kafka_settings, [CV_EMBEDDED, dlt(CV_INGESTED)])
    await reader.start()
    yield reader
    await reader.stop()


@pytest.fixture(scope="module")
async def running(
    kafka_settings: KafkaSettings,
    topics_ready: None,
    embedder: MiniLmEmbedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[FastAPI]:
    state: Path = tmp_path_factory.mktemp("embed-state")
    settings = Settings(**kafka_settings.model_dump(), state_dir=state, unknown_job_max_attempts=60)
    service, app = build(settings, embedder=embedder)
    async with service.running():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://embed") as client:
            for _ in range(600):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("embed never became ready")
        yield app


async def embedded_event(topics: Topics, application_id: str, count: int = 1) -> cv_pb2.CvEmbedded:
    headers, value = (await topics.wait(CV_EMBEDDED, application_id, count))[-1]
    message = cv_pb2.CvEmbedded()
    message.ParseFromString(value)
    assert headers["ce_type"] == "shortlist.cv.embedded.v1"
    return message


async def test_a_cv_gets_evidence_per_requirement(running: FastAPI, topics: Topics, producer: EventProducer) -> None:
    job_id, app_id = f"job-{uuid.uuid4().hex[:8]}", f"app-{uuid.uuid4().hex[:8]}"
    await producer.publish(make_job(job_id, REQUIREMENTS), key=job_id)
    await asyncio.sleep(0.5)  # the job normally arrives first; the next test covers the other order
    cv = make_cv(app_id, job_id)
    await producer.publish(cv, key=app_id)

    event = await embedded_event(topics, app_id)
    assert event.job_id == job_id and event.job_version == 1 and event.job_title == "Platform engineer"
    assert event.advance_threshold == 70 and event.reject_threshold == 40
    assert event.embedding_model == "all-MiniLM-L6-v2"
    assert event.redacted_text == cv.redacted_text and event.submitted_at == cv.submitted_at
    assert list(event.sections) == list(cv.sections) and event.chunk_count == 5
    assert [e.requirement.id for e in event.evidence] == [f"{job_id}-r1", f"{job_id}-r2", f"{job_id}-r3"]
    assert [e.requirement.weight for e in event.evidence] == [1.0, 1.0, 0.5]
    assert event.evidence[2].requirement.kind == common_pb2.REQUIREMENT_KIND_NICE

    kubernetes, python, degree = event.evidence
    assert [len(e.chunks) for e in event.evidence] == [3, 3, 3]
    assert "Kubernetes" in kubernetes.chunks[0].text and kubernetes.chunks[0].section == "experience"
    assert "Python" in python.chunks[0].text
    assert degree.chunks[0].section == "education"
    for evidence in event.evidence:
        similarities = [c.similarity for c in evidence.chunks]
        assert similarities == sorted(similarities, reverse=True) and all(-1 <= s <= 1 for s in similarities)
        for chunk in evidence.chunks:
            original = cv.text[chunk.span.start : chunk.span.end]
            assert chunk.text == original.replace("Grace Tester", "[NAME]").replace(
                "grace.tester@example.com", "[EMAIL]"
            )
            assert "grace" not in chunk.text.lower()


async def test_replaying_a_cv_leaves_the_same_points(running: FastAPI, topics: Topics, producer: EventProducer) -> None:
    job_id, app_id = f"job-{uuid.uuid4().hex[:8]}", f"app-{uuid.uuid4().hex[:8]}"
    await producer.publish(make_job(job_id, REQUIREMENTS), key=job_id)
    cv = make_cv(app_id, job_id)
    await producer.publish(cv, key=app_id, event_id="replayed-event")
    first = await embedded_event(topics, app_id)
    store: VectorStore = running.state.store
    points = await store.count_chunks(app_id)
    assert points == first.chunk_count > 0

    await producer.publish(cv, key=app_id, event_id="replayed-event")
    second = await embedded_event(topics, app_id, count=2)
    assert await store.count_chunks(app_id) == points
    assert second == first
    ids = {headers["ce_id"] for headers, _ in topics.seen[f"{CV_EMBEDDED}/{app_id}"]}
    assert len(ids) == 1, "a replay publishes the same event id"


async def test_a_cv_waits_for_its_job(running: FastAPI, topics: Topics, producer: EventProducer) -> None:
    job_id, app_id = f"job-{uuid.uuid4().hex[:8]}", f"app-{uuid.uuid4().hex[:8]}"
    await producer.publish(make_cv(app_id, job_id), key=app_id)
    await asyncio.sleep(2)
    assert not topics.seen[f"{CV_EMBEDDED}/{app_id}"]
    assert not topics.seen[f"{dlt(CV_INGESTED)}/{app_id}"], "an unknown job is retried, not dead-lettered"

    await producer.publish(make_job(job_id, REQUIREMENTS), key=job_id)
    event = await embedded_event(topics, app_id)
    assert event.job_id == job_id and len(event.evidence) == 3


async def test_a_cv_without_text_is_dead_lettered(running: FastAPI, topics: Topics, producer: EventProducer) -> None:
    app_id = f"app-{uuid.uuid4().hex[:8]}"
    await producer.publish(cv_pb2.CvIngested(application_id=app_id, job_id="job-x", text="  \n "), key=app_id)
    headers, _ = (await topics.wait(dlt(CV_INGESTED), app_id))[0]
    assert headers["dlt-exception-type"] == "empty_text"
    assert headers["dlt-original-topic"] == CV_INGESTED
