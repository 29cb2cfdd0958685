"""The consumer loop in process against the real broker: commits, retries and dead letters.

One consumer group for the whole module (a group join takes seconds on this broker); each test has its own topic
and tells the shared handler how to behave per record (by ce_id).
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from shortlist.runtime.consumer import ConsumerLoop
from shortlist.runtime.errors import PermanentError, TransientError
from shortlist.runtime.events import encode_headers, new_envelope
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import dlt, ensure_topics
from shortlist.v1 import cv_pb2
from tests.runtime.helpers import SOURCE, eventually, headers_of, read_all, send_event

SERVICE = "runtime-tests"
pytestmark = pytest.mark.timeout(120)

Behaviour = Callable[[Record, int], Awaitable[None]]


@dataclass
class Harness:
    """One running ConsumerLoop over the module's topics, and what its handler saw."""

    settings: KafkaSettings
    group_id: str
    topics: dict[str, str]
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    handled: dict[str, Record] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    async def handle(self, record: Record) -> None:
        ce_id = record.envelope.id
        self.attempts[ce_id] += 1
        behaviour = self.behaviours.get(ce_id)
        if behaviour is not None:
            await behaviour(record, self.attempts[ce_id])
        self.handled[ce_id] = record

    async def wait_handled(self, ce_id: str) -> Record:
        def done() -> bool:
            if self.task is not None and self.task.done():
                raise AssertionError(f"the consumer loop stopped: {self.task.exception()!r}")
            return ce_id in self.handled

        await eventually(done, f"record {ce_id} to be handled")
        return self.handled[ce_id]


@pytest.fixture(scope="module")
async def harness(kafka_settings: KafkaSettings, producer: EventProducer) -> AsyncIterator[Harness]:
    suffix = uuid.uuid4().hex[:8]
    topics = {name: f"test.{suffix}.{name}.v1" for name in ("commit", "poison", "errors")}
    await ensure_topics(kafka_settings, tuple(t for topic in topics.values() for t in (topic, dlt(topic))))
    harness = Harness(kafka_settings, f"test-runtime-{suffix}", topics)
    loop = ConsumerLoop(
        kafka_settings, SERVICE, harness.group_id, {t: harness.handle for t in topics.values()}, producer
    )
    await loop.start()
    harness.task = asyncio.create_task(loop.run())
    await eventually(lambda: loop.is_assigned, "the consumer group to assign partitions")
    yield harness
    loop.request_stop()
    await harness.task
    await loop.stop()


@pytest.fixture(scope="module")
async def raw_producer(kafka_settings: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=kafka_settings.kafka_bootstrap, request_timeout_ms=30_000)
    await p.start()
    yield p
    await p.stop()


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_offset_is_committed_only_after_the_handler_succeeds(
    harness: Harness, producer: EventProducer, kafka_settings: KafkaSettings
) -> None:
    topic = harness.topics["commit"]
    # A second client of the same group that never subscribes: it only reads the group's committed offsets.
    observer = AIOKafkaConsumer(
        bootstrap_servers=kafka_settings.kafka_bootstrap,
        group_id=harness.group_id,
        enable_auto_commit=False,
        request_timeout_ms=30_000,
    )
    await observer.start()
    try:
        first = await send_event(producer, topic, cv_pb2.CvSubmitted(application_id="app-c1", text="t"), "app-c")
        first_record = await harness.wait_handled(first.id)
        tp = TopicPartition(topic, first_record.partition)
        await eventually(
            lambda: _committed_is(observer, tp, first_record.offset + 1), "the first record's offset to be committed"
        )

        committed_during_tries: list[int | None] = []

        async def flaky(record: Record, attempt: int) -> None:
            committed_during_tries.append(await observer.committed(tp))
            if attempt < 3:
                raise TransientError("dependency_unavailable", "the dependency is not reachable yet")

        message = cv_pb2.CvSubmitted(application_id="app-c2", text="t")
        envelope = new_envelope(message, SOURCE)
        harness.behaviours[envelope.id] = flaky
        await producer.send_raw(topic, b"app-c", message.SerializeToString(), encode_headers(envelope))
        record = await harness.wait_handled(envelope.id)

        assert record.partition == tp.partition and record.offset == first_record.offset + 1
        assert harness.attempts[envelope.id] == 3
        # While the record was failing, the group's offset stayed before it.
        assert committed_during_tries == [record.offset] * 3
        await eventually(lambda: _committed_is(observer, tp, record.offset + 1), "the offset to move past the record")
        assert metric("shortlist_retries_total", service=SERVICE, topic=topic, code="dependency_unavailable") == 2
        assert metric("shortlist_dlt_total", service=SERVICE, topic=topic, code="dependency_unavailable") == 0
        assert metric("shortlist_consumer_lag", service=SERVICE, topic=topic, partition=str(tp.partition)) == 0
    finally:
        await observer.stop()
    assert await read_all(kafka_settings.kafka_bootstrap, dlt(topic)) == []


async def _committed_is(observer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> bool:
    return bool(await observer.committed(tp) == offset)


async def test_poison_records_go_to_the_dead_letter_topic_and_later_records_still_flow(
    harness: Harness, producer: EventProducer, raw_producer: AIOKafkaProducer, kafka_settings: KafkaSettings
) -> None:
    topic = harness.topics["poison"]
    key = b"app-p"
    submitted = cv_pb2.CvSubmitted(application_id="app-p", text="t").SerializeToString()
    undecodable_headers = encode_headers(new_envelope(cv_pb2.CvSubmitted(), SOURCE))
    undecodable = await raw_producer.send_and_wait(topic, b"not a protobuf", key=key, headers=undecodable_headers)
    headerless = await raw_producer.send_and_wait(topic, submitted, key=key)

    after = await send_event(producer, topic, cv_pb2.CvSubmitted(application_id="app-p", text="t"), "app-p")
    record = await harness.wait_handled(after.id)
    assert record.partition == undecodable.partition == headerless.partition
    assert record.offset > headerless.offset > undecodable.offset

    dead = {headers_of(r)["dlt-original-offset"]: r for r in await read_all(kafka_settings.kafka_bootstrap, dlt(topic))}
    assert sorted(dead) == sorted([str(undecodable.offset), str(headerless.offset)])

    first = dead[str(undecodable.offset)]
    headers = headers_of(first)
    assert headers["dlt-original-topic"] == topic
    assert headers["dlt-original-partition"] == str(undecodable.partition)
    assert headers["dlt-exception-type"] == "undecodable"
    assert "CvSubmitted" in headers["dlt-exception-message"]
    assert headers["ce_id"] == undecodable_headers[2][1].decode()  # the original headers travel with it
    assert (first.key, first.value) == (key, b"not a protobuf")

    second = dead[str(headerless.offset)]
    headers = headers_of(second)
    assert headers["dlt-original-topic"] == topic
    assert headers["dlt-original-partition"] == str(headerless.partition)
    assert headers["dlt-exception-type"] == "missing_header"
    assert "ce_id" in headers["dlt-exception-message"]
    assert (second.key, second.value) == (key, submitted)
    assert metric("shortlist_dlt_total", service=SERVICE, topic=topic, code="undecodable") == 1
    assert metric("shortlist_dlt_total", service=SERVICE, topic=topic, code="missing_header") == 1


async def test_handler_errors_are_dead_lettered_with_their_code_after_the_allowed_tries(
    harness: Harness, producer: EventProducer, kafka_settings: KafkaSettings
) -> None:
    topic = harness.topics["errors"]

    async def permanent(record: Record, attempt: int) -> None:
        raise PermanentError("job_unknown", "the job of this application does not exist")

    async def transient(record: Record, attempt: int) -> None:
        raise TransientError("dependency_unavailable", "the dependency is not reachable", max_attempts=2)

    async def unexpected(record: Record, attempt: int) -> None:
        raise RuntimeError("a bug")

    ids: dict[str, str] = {}
    for name, behaviour in (("permanent", permanent), ("transient", transient), ("unexpected", unexpected)):
        message = cv_pb2.CvSubmitted(application_id="app-e", text=name)
        envelope = new_envelope(message, SOURCE)
        harness.behaviours[envelope.id] = behaviour
        ids[name] = envelope.id
        await producer.send_raw(topic, b"app-e", message.SerializeToString(), encode_headers(envelope))
    after = await send_event(producer, topic, cv_pb2.CvSubmitted(application_id="app-e"), "app-e")
    await harness.wait_handled(after.id)

    dead = {headers_of(r)["ce_id"]: headers_of(r) for r in await read_all(kafka_settings.kafka_bootstrap, dlt(topic))}
    assert sorted(dead) == sorted(ids.values())  # each dead-lettered exactly once

    assert harness.attempts[ids["permanent"]] == 1
    assert dead[ids["permanent"]]["dlt-exception-type"] == "job_unknown"
    assert dead[ids["permanent"]]["dlt-exception-message"] == "the job of this application does not exist"

    assert harness.attempts[ids["transient"]] == 2
    assert dead[ids["transient"]]["dlt-exception-type"] == "dependency_unavailable"
    assert dead[ids["transient"]]["dlt-exception-message"].startswith("gave up after 2 tries")

    assert harness.attempts[ids["unexpected"]] == kafka_settings.retry_max_attempts
    assert dead[ids["unexpected"]]["dlt-exception-type"] == "unexpected_error"
    # Only the exception's type leaves the process: its message could carry CV text.
    assert dead[ids["unexpected"]]["dlt-exception-message"] == (
        f"gave up after {kafka_settings.retry_max_attempts} tries: RuntimeError"
    )
    assert all(ce_id not in harness.handled for ce_id in ids.values())
    assert metric("shortlist_retries_total", service=SERVICE, topic=topic, code="dependency_unavailable") == 1
