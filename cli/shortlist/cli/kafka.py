"""Reading topics without joining a consumer group: tail, dead-letter listing and replay."""

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from google.protobuf.json_format import MessageToDict

from shortlist.runtime.errors import PermanentError
from shortlist.runtime.events import decode_message, header_map
from shortlist.runtime.topics import dlt

DLT_PREFIX = "dlt-"
REPLAY_GROUP = "shortlist-dlt-replay"


class TopicError(Exception):
    """The topic does not exist or the broker cannot be reached."""


def dlt_topic(topic: str) -> str:
    return topic if topic.endswith("-dlt") else dlt(topic)


def record_to_dict(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    """One record as JSON-friendly data: position, key, CloudEvents attributes and the decoded event."""
    headers = header_map(record.headers)
    out: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode("utf-8", "replace") if record.key is not None else None,
        "type": headers.get("ce_type"),
        "id": headers.get("ce_id"),
        "time": headers.get("ce_time"),
    }
    dlt_headers = {k: v for k, v in headers.items() if k.startswith(DLT_PREFIX)}
    if dlt_headers:
        out["dlt"] = dlt_headers
    original = headers.get("dlt-original-topic", record.topic)
    try:
        message = decode_message(original, headers, record.value)
    except PermanentError as exc:
        out["error"] = {"code": exc.code, "message": exc.message}
        out["value_bytes"] = len(record.value or b"")
    else:
        out["data"] = MessageToDict(message, preserving_proto_field_name=True)
    return out


@dataclass
class Reader:
    consumer: AIOKafkaConsumer
    partitions: list[TopicPartition]


async def open_reader(bootstrap: str, topic: str, group_id: str | None = None) -> Reader:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=30_000,
    )
    try:
        await consumer.start()
    except Exception as exc:
        await consumer.stop()
        raise TopicError(f"cannot reach the broker at {bootstrap}: {exc}") from None
    try:
        available = await consumer.topics()
        numbers = consumer.partitions_for_topic(topic) if topic in available else None
        if not numbers:
            raise TopicError(f"topic {topic!r} does not exist")
        partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
        consumer.assign(partitions)
    except BaseException:
        await consumer.stop()
        raise
    return Reader(consumer, partitions)


async def tail(
    bootstrap: str,
    topic: str,
    *,
    from_beginning: bool = True,
    max_records: int | None = None,
    idle_timeout: float | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the records of every partition of ``topic`` decoded, until ``max_records`` or ``idle_timeout``."""
    reader = await open_reader(bootstrap, topic)
    consumer = reader.consumer
    try:
        if from_beginning:
            await consumer.seek_to_beginning(*reader.partitions)
        else:
            await consumer.seek_to_end(*reader.partitions)
        seen = 0
        last = time.monotonic()
        while max_records is None or seen < max_records:
            batches = await consumer.getmany(timeout_ms=200, max_records=100)
            records = sorted((r for rs in batches.values() for r in rs), key=lambda r: (r.timestamp, r.partition))
            for record in records:
                yield record_to_dict(record)
                seen += 1
                if max_records is not None and seen >= max_records:
                    return
            if records:
                last = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - last > idle_timeout:
                return
    finally:
        await consumer.stop()


async def read_to_end(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """The records from the current positions up to the end offsets seen at the start."""
    ends = await consumer.end_offsets(partitions)
    remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=500)
        for tp, records in batches.items():
            for record in records:
                if record.offset < ends[tp]:
                    yield record
        for tp in list(remaining):
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)


async def dlt_records(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every record of ``<topic>-dlt`` that exists now, decoded, with its dlt-* headers."""
    reader = await open_reader(bootstrap, dlt_topic(topic))
    try:
        await reader.consumer.seek_to_beginning(*reader.partitions)
        return [record_to_dict(r) async for r in read_to_end(reader.consumer, reader.partitions)]
    finally:
        await reader.consumer.stop()


@dataclass
class ReplayResult:
    replayed: int
    by_topic: dict[str, int]


async def dlt_replay(
    bootstrap: str, topic: str, *, from_beginning: bool = False, group_id: str = REPLAY_GROUP
) -> ReplayResult:
    """Re-publish each dead letter's key, value and headers (without dlt-*) to its original topic.

    The position is kept as the committed offset of ``group_id`` on the DLT, so a record is replayed once;
    ``from_beginning`` replays everything again. Consumers are idempotent by ce_id, so a second replay is harmless.
    """
    source = dlt_topic(topic)
    default_target = source.removesuffix("-dlt")
    reader = await open_reader(bootstrap, source, group_id=group_id)
    consumer = reader.consumer
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=30_000)
    await producer.start()
    by_topic: dict[str, int] = {}
    try:
        if from_beginning:
            await consumer.seek_to_beginning(*reader.partitions)
        else:
            committed = {tp: await consumer.committed(tp) for tp in reader.partitions}
            for tp, offset in committed.items():
                if offset is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, offset)
        async for record in read_to_end(consumer, reader.partitions):
            headers = [(k, v) for k, v in record.headers or () if not k.startswith(DLT_PREFIX)]
            target = header_map(record.headers).get("dlt-original-topic") or default_target
            await producer.send_and_wait(target, value=record.value, key=record.key, headers=headers)
            by_topic[target] = by_topic.get(target, 0) + 1
            await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
    finally:
        await producer.stop()
        await consumer.stop()
    return ReplayResult(sum(by_topic.values()), by_topic)
