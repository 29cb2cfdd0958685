"""What a handler receives: one decoded record with its CloudEvents envelope."""

from dataclasses import dataclass

from aiokafka import ConsumerRecord
from google.protobuf.message import Message

from shortlist.runtime.events import Envelope, decode_envelope, decode_message, header_map


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
    """Decode a Kafka record; raises PermanentError when it can never be decoded."""
    headers = header_map(raw.headers)
    return Record(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key.decode("utf-8", "replace") if raw.key is not None else None,
        headers=headers,
        envelope=decode_envelope(headers),
        message=decode_message(raw.topic, headers, raw.value),
    )
