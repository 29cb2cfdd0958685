"""Records of different keys in one partition are handled at once; records of one key stay in order."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shortlist.runtime.consumer import ConsumerLoop
from shortlist.runtime.events import encode_headers, new_envelope
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.runtime.settings import KafkaSettings
from shortlist.v1 import cv_pb2
from tests.runtime.helpers import eventually, send_event

pytestmark = pytest.mark.timeout(120)


async def new_topic(settings: KafkaSettings, name: str, partitions: int) -> str:
    topic = f"test.{uuid.uuid4().hex[:8]}.{name}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return topic


async def test_keys_run_concurrently_and_each_key_keeps_its_order(
    kafka_settings: KafkaSettings, producer: EventProducer
) -> None:
    topic = await new_topic(kafka_settings, "concurrency", partitions=1)
    keys = [f"app-{i}" for i in range(6)]
    for seq in range(4):
        for key in keys:
            await send_event(producer, topic, cv_pb2.CvIngested(application_id=key, text=str(seq)), key=key)

    seen: dict[str, list[int]] = {key: [] for key in keys}
    in_flight = 0
    most_in_flight = 0

    async def handle(record: Record) -> None:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.05)
        assert isinstance(record.message, cv_pb2.CvIngested)
        seen[record.message.application_id].append(int(record.message.text))
        in_flight -= 1

    settings = kafka_settings.model_copy(update={"consumer_concurrency": 4})
    loop = ConsumerLoop(
        settings, "runtime-tests", f"test-concurrency-{uuid.uuid4().hex[:8]}", {topic: handle}, producer
    )
    await loop.start()
    task = asyncio.create_task(loop.run())
    try:
        await eventually(lambda: sum(len(v) for v in seen.values()) == 24, "all 24 records to be handled")
    finally:
        loop.request_stop()
        await task
        await loop.stop()
    assert all(order == [0, 1, 2, 3] for order in seen.values()), seen
    assert 1 < most_in_flight <= 4


async def test_a_partition_held_up_by_its_record_does_not_hold_up_the_others(
    kafka_settings: KafkaSettings, producer: EventProducer
) -> None:
    topic = await new_topic(kafka_settings, "independent", partitions=2)
    fast_done = asyncio.Event()
    slow_started = asyncio.Event()
    order: list[str] = []

    async def handle(record: Record) -> None:
        assert isinstance(record.message, cv_pb2.CvIngested)
        if record.message.application_id == "slow":
            slow_started.set()
            await asyncio.wait_for(fast_done.wait(), timeout=10)
        else:
            fast_done.set()
        order.append(record.message.application_id)

    sender = AIOKafkaProducer(bootstrap_servers=kafka_settings.kafka_bootstrap)

    async def send(name: str, partition: int) -> None:
        message = cv_pb2.CvIngested(application_id=name)
        headers = encode_headers(new_envelope(message, "/tests"))
        await sender.send_and_wait(
            topic, message.SerializeToString(), key=name.encode(), partition=partition, headers=headers
        )

    group = f"test-independent-{uuid.uuid4().hex[:8]}"
    loop = ConsumerLoop(kafka_settings, "runtime-tests", group, {topic: handle}, producer)
    await sender.start()
    await loop.start()
    task = asyncio.create_task(loop.run())
    try:
        await send("slow", 0)
        await eventually(slow_started.is_set, "the slow record to be in hand")
        await send("fast", 1)
        await eventually(lambda: len(order) == 2, "both records to be handled")
    finally:
        await sender.stop()
        loop.request_stop()
        await task
        await loop.stop()
    assert order == ["fast", "slow"]
