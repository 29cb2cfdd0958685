"""Helpers for the runtime tests: CloudEvents records, reading a topic from the start, waiting for a condition."""

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from google.protobuf.message import Message

from shortlist.runtime.events import Envelope, encode_headers, header_map, new_envelope
from shortlist.runtime.producer import EventProducer

SOURCE = "/shortlist/tests"


async def send_event(producer: EventProducer, topic: str, message: Message, key: str) -> Envelope:
    """Send ``message`` to any topic as a CloudEvents binary-mode record; returns its envelope."""
    envelope = new_envelope(message, SOURCE)
    await producer.send_raw(topic, key.encode(), message.SerializeToString(), encode_headers(envelope))
    return envelope


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], what: str, within: float = 30.0, every: float = 0.05
) -> None:
    """Wait until ``condition`` holds; fail with ``what`` when it never does."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to its current end, without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=30_000)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions, f"topic {topic} does not exist"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + 30
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return header_map(record.headers)
