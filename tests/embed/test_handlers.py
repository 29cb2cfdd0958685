"""The handlers called directly (no consumer group): bad input, and CVs that arrive before their job.

A CV whose job is not known is parked (SQLite under the state dir) so its offset can be committed; it
completes when the job arrives, here or through another replica, and is dead-lettered with
``unknown_job`` when the job never comes within the bound.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shortlist.embed.app import build
from shortlist.embed.config import Settings
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.handlers import EmbedHandlers, job_requirements
from shortlist.embed.store import StoredJob, VectorStore
from shortlist.runtime.errors import PermanentError
from shortlist.runtime.events import encode_headers, header_map, new_envelope
from shortlist.runtime.records import Record
from shortlist.runtime.service import Service
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_EMBEDDED, CV_INGESTED, JOBS_POSTED, dlt
from shortlist.v1 import cv_pb2, jobs_pb2
from tests.embed.conftest import MUST, NICE, make_cv, make_job
from tests.runtime.helpers import eventually

pytestmark = pytest.mark.timeout(120)

REQUIREMENTS = [("Experience operating Kubernetes clusters", MUST), ("A degree in mathematics", NICE)]


def record(message: cv_pb2.CvIngested | jobs_pb2.JobPosted, offset: int = 0) -> Record:
    topic = CV_INGESTED if isinstance(message, cv_pb2.CvIngested) else JOBS_POSTED
    envelope = new_envelope(message, source="/tests")
    key = message.application_id if isinstance(message, cv_pb2.CvIngested) else message.job_id
    return Record(topic, 2, offset, key, header_map(encode_headers(envelope)), envelope, message)


@dataclass
class Embed:
    service: Service
    handlers: EmbedHandlers
    store: VectorStore


@contextlib.asynccontextmanager
async def started(settings: Settings, embedder: MiniLmEmbedder) -> AsyncIterator[Embed]:
    """The service's handlers, store and producer, without its consumers."""
    service, app = build(settings, embedder=embedder)
    embed = Embed(service, app.state.handlers, app.state.store)
    await embed.store.start()
    await embed.handlers.start()
    await service.producer.start()
    try:
        yield embed
    finally:
        await service.producer.stop()
        await embed.handlers.stop()
        await embed.store.close()


def settings_for(kafka: KafkaSettings, state: Path, max_wait: float = 600.0) -> Settings:
    # The sweeper runs only when a test calls it.
    return Settings(
        **kafka.model_dump(), state_dir=state, unknown_job_max_wait_seconds=max_wait, unknown_job_check_seconds=3600
    )


class Tail:
    """Records appended to topics after it started, read by direct assignment."""

    def __init__(self, kafka: KafkaSettings, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=kafka.kafka_bootstrap, enable_auto_commit=False)
        self._topics = topics
        self.records: list[ConsumerRecord[bytes, bytes]] = []

    async def __aenter__(self) -> "Tail":
        await self._consumer.start()
        partitions = [TopicPartition(t, p) for t in self._topics for p in self._consumer.partitions_for_topic(t) or ()]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self._consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def of(self, topic: str, key: str) -> list[ConsumerRecord[bytes, bytes]]:
        for records in (await self._consumer.getmany(timeout_ms=200)).values():
            self.records.extend(records)
        return [r for r in self.records if r.topic == topic and r.key == key.encode()]


def ids() -> tuple[str, str]:
    return f"job-{uuid.uuid4().hex[:8]}", f"app-{uuid.uuid4().hex[:8]}"


async def test_bad_input_is_permanent(kafka_settings: KafkaSettings, embedder: MiniLmEmbedder, tmp_path: Path) -> None:
    async with started(settings_for(kafka_settings, tmp_path), embedder) as embed:
        with pytest.raises(PermanentError) as empty:
            await embed.handlers.on_cv_ingested(record(cv_pb2.CvIngested(application_id="a", job_id="j")))
        assert empty.value.code == "empty_text"
        with pytest.raises(PermanentError) as invalid:
            await embed.handlers.on_cv_ingested(record(cv_pb2.CvIngested(text="some text")))
        assert invalid.value.code == "invalid_event"
        with pytest.raises(PermanentError) as no_requirements:
            await embed.handlers.on_job_posted(record(jobs_pb2.JobPosted(job_id="j", version=1, title="T")))
        assert no_requirements.value.code == "no_requirements"


async def test_a_cv_before_its_job_is_parked_then_completed_by_the_job(
    kafka_settings: KafkaSettings, topics_ready: None, embedder: MiniLmEmbedder, tmp_path: Path
) -> None:
    job_id, app_id = ids()
    async with (
        started(settings_for(kafka_settings, tmp_path), embedder) as embed,
        Tail(kafka_settings, CV_EMBEDDED, dlt(CV_INGESTED)) as tail,
    ):
        await embed.handlers.on_cv_ingested(record(make_cv(app_id, job_id)))  # returns: the offset can be committed
        assert await embed.handlers.parking.count() == 1

        await embed.handlers.on_job_posted(record(make_job(job_id, REQUIREMENTS)))
        await eventually(lambda: _has(tail, CV_EMBEDDED, app_id), "the parked CV's CvEmbedded")
        assert await embed.handlers.parking.count() == 0
        event = cv_pb2.CvEmbedded()
        event.ParseFromString((await tail.of(CV_EMBEDDED, app_id))[0].value or b"")
        assert event.job_id == job_id and [len(e.chunks) for e in event.evidence] == [3, 3]
        assert not await tail.of(dlt(CV_INGESTED), app_id)


async def test_parked_cvs_survive_a_restart_and_complete_when_another_replica_stored_the_job(
    kafka_settings: KafkaSettings, topics_ready: None, embedder: MiniLmEmbedder, tmp_path: Path
) -> None:
    job_id, app_id = ids()
    settings = settings_for(kafka_settings, tmp_path)
    async with started(settings, embedder) as embed:
        await embed.handlers.on_cv_ingested(record(make_cv(app_id, job_id)))
    async with started(settings, embedder) as embed, Tail(kafka_settings, CV_EMBEDDED) as tail:
        assert await embed.handlers.parking.count() == 1, "parked CVs are kept on disk"
        # Another replica consumed the JobPosted: the job is in the shared store, not announced here.
        job = make_job(job_id, REQUIREMENTS)
        requirements = job_requirements(job)
        vectors = embedder.embed([r.text for r in requirements])
        await embed.store.put_job(StoredJob(job_id, 1, job.title, 70, 40, requirements, vectors))
        await embed.handlers.sweep()
        await eventually(lambda: _has(tail, CV_EMBEDDED, app_id), "the parked CV's CvEmbedded")
        assert await embed.handlers.parking.count() == 0


async def test_a_cv_whose_job_never_comes_is_dead_lettered_after_the_bound(
    kafka_settings: KafkaSettings, topics_ready: None, embedder: MiniLmEmbedder, tmp_path: Path
) -> None:
    job_id, app_id = ids()
    cv = make_cv(app_id, job_id)
    async with (
        started(settings_for(kafka_settings, tmp_path, max_wait=0.5), embedder) as embed,
        Tail(kafka_settings, dlt(CV_INGESTED)) as tail,
    ):
        incoming = record(cv, offset=41)
        await embed.handlers.on_cv_ingested(incoming)
        await embed.handlers.sweep()
        assert await embed.handlers.parking.count() == 1, "within the bound it keeps waiting"
        assert not await tail.of(dlt(CV_INGESTED), app_id)

        await eventually(lambda: _swept_away(embed), "the parked CV to pass its bound", every=0.2)
        await eventually(lambda: _has(tail, dlt(CV_INGESTED), app_id), "the dead letter")
        (dead,) = await tail.of(dlt(CV_INGESTED), app_id)
        headers = header_map(dead.headers)
        assert headers["dlt-exception-type"] == "unknown_job"
        assert headers["dlt-original-topic"] == CV_INGESTED
        assert headers["dlt-original-partition"] == "2" and headers["dlt-original-offset"] == "41"
        assert headers["ce_id"] == incoming.envelope.id
        assert "Grace" not in headers["dlt-exception-message"]
        assert dead.value == cv.SerializeToString(), "the original record, unchanged"


async def _has(tail: Tail, topic: str, key: str) -> bool:
    return bool(await tail.of(topic, key))


async def _swept_away(embed: Embed) -> bool:
    await embed.handlers.sweep()
    return await embed.handlers.parking.count() == 0
