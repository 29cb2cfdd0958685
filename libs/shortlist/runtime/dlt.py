"""Dead-lettering: the original record, unchanged, plus the dlt-* headers of the contract."""

import logging

from aiokafka import ConsumerRecord

from shortlist.runtime import metrics
from shortlist.runtime.events import Headers
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.topics import dlt

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 1000


async def dead_letter(
    producer: EventProducer, service: str, raw: ConsumerRecord[bytes, bytes], code: str, message: str
) -> None:
    await dead_letter_record(
        producer,
        service,
        raw.topic,
        raw.partition,
        raw.offset,
        raw.key,
        raw.value,
        list(raw.headers or ()),
        code,
        message,
    )


async def dead_letter_record(
    producer: EventProducer,
    service: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    code: str,
    message: str,
) -> None:
    """Dead-letter a record known by its coordinates (for one kept aside, no longer a ConsumerRecord)."""
    kept = [(k, v) for k, v in headers if not k.startswith("dlt-")]
    kept += [
        ("dlt-original-topic", topic.encode()),
        ("dlt-original-partition", str(partition).encode()),
        ("dlt-original-offset", str(offset).encode()),
        ("dlt-exception-type", code.encode()),
        ("dlt-exception-message", message[:MAX_MESSAGE_CHARS].encode()),
    ]
    await producer.send_raw(dlt(topic), key, value, kept)
    metrics.DEAD_LETTERS.labels(service, topic, code).inc()
    log.warning("dead-lettered %s[%d]@%d: %s: %s", topic, partition, offset, code, message[:MAX_MESSAGE_CHARS])
