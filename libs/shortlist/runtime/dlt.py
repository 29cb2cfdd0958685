"""Dead-lettering: the original record, unchanged, plus the dlt-* headers of the contract."""

import logging

from aiokafka import ConsumerRecord

from shortlist.runtime import metrics
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.topics import dlt

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 1000


async def dead_letter(
    producer: EventProducer, service: str, raw: ConsumerRecord[bytes, bytes], code: str, message: str
) -> None:
    headers = [(k, v) for k, v in raw.headers or () if not k.startswith("dlt-")]
    headers += [
        ("dlt-original-topic", raw.topic.encode()),
        ("dlt-original-partition", str(raw.partition).encode()),
        ("dlt-original-offset", str(raw.offset).encode()),
        ("dlt-exception-type", code.encode()),
        ("dlt-exception-message", message[:MAX_MESSAGE_CHARS].encode()),
    ]
    await producer.send_raw(dlt(raw.topic), raw.key, raw.value, headers)
    metrics.DEAD_LETTERS.labels(service, raw.topic, code).inc()
    log.warning(
        "dead-lettered %s[%d]@%d: %s: %s", raw.topic, raw.partition, raw.offset, code, message[:MAX_MESSAGE_CHARS]
    )
