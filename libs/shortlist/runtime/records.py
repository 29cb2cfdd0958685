"""What a handler receives: one decoded record with its CloudEvents envelope."""

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from google.protobuf.empty_pb2 import Empty
from google.protobuf.message import Message

from shortlist.runtime.errors import PermanentError
from shortlist.runtime.events import MESSAGE_BY_TOPIC, Envelope, decode_envelope, decode_message, header_map


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    envelope: Envelope
    message: Message


def decode_record(raw: ConsumerRecord[bytes, bytes]) -> Record:
    """Decode a Kafka record; raises PermanentError when it can never be decoded.

    Dead letters are decoded leniently, since they are often there because they cannot be decoded: a
    missing envelope is made up from the record's coordinates, and an undecodable value becomes an empty
    message of the original topic's type, so a handler still sees the key and the ``dlt-*`` headers.
    """
    headers = header_map(raw.headers)
    if raw.topic.endswith("-dlt"):
        envelope, message = _decode_dead_letter(raw, headers)
    else:
        envelope, message = decode_envelope(headers), decode_message(raw.topic, headers, raw.value)
    return Record(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key.decode("utf-8", "replace") if raw.key is not None else None,
        headers=headers,
        envelope=envelope,
        message=message,
    )


def _decode_dead_letter(raw: ConsumerRecord[bytes, bytes], headers: dict[str, str]) -> tuple[Envelope, Message]:
    original = headers.get("dlt-original-topic") or raw.topic.removesuffix("-dlt")
    try:
        envelope = decode_envelope(headers)
    except PermanentError:
        envelope = Envelope(
            id=f"{raw.topic}/{raw.partition}/{raw.offset}",
            type=headers.get("ce_type", ""),
            source=headers.get("ce_source", ""),
            time=datetime.fromtimestamp(raw.timestamp / 1000, UTC),
        )
    try:
        message = decode_message(original, headers, raw.value)
    except PermanentError:
        message = MESSAGE_BY_TOPIC[original]() if original in MESSAGE_BY_TOPIC else Empty()
    return envelope, message
