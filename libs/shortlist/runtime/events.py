"""CloudEvents Kafka binding (binary mode) for the protobuf events of the contract."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf.message import DecodeError, Message

from shortlist.runtime import topics
from shortlist.runtime.errors import PermanentError
from shortlist.v1 import cv_pb2, jobs_pb2, notify_pb2, score_pb2

CONTENT_TYPE = "application/protobuf"
SPEC_VERSION = "1.0"

#: ce_type and topic of every event of the contract.
EVENT_TYPES: dict[type[Message], tuple[str, str]] = {
    cv_pb2.CvSubmitted: ("shortlist.cv.submitted.v1", topics.CV_SUBMITTED),
    cv_pb2.CvIngested: ("shortlist.cv.ingested.v1", topics.CV_INGESTED),
    cv_pb2.CvEmbedded: ("shortlist.cv.embedded.v1", topics.CV_EMBEDDED),
    score_pb2.CvScored: ("shortlist.cv.scored.v1", topics.CV_SCORED),
    jobs_pb2.JobPosted: ("shortlist.jobs.posted.v1", topics.JOBS_POSTED),
    notify_pb2.DeliveryAttempted: ("shortlist.notify.delivered.v1", topics.NOTIFY_DELIVERED),
    cv_pb2.CandidateErased: ("shortlist.candidates.erased.v1", topics.CANDIDATES_ERASED),
}
MESSAGE_BY_TYPE: dict[str, type[Message]] = {ce_type: cls for cls, (ce_type, _) in EVENT_TYPES.items()}
MESSAGE_BY_TOPIC: dict[str, type[Message]] = {topic: cls for cls, (_, topic) in EVENT_TYPES.items()}

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Envelope:
    """The CloudEvents attributes of one record."""

    id: str
    type: str
    source: str
    time: datetime
    extra: dict[str, str] = field(default_factory=dict)


def topic_of(message: Message) -> str:
    return EVENT_TYPES[type(message)][1]


def new_envelope(message: Message, source: str, event_id: str | None = None) -> Envelope:
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        type=EVENT_TYPES[type(message)][0],
        source=source,
        time=datetime.now(UTC),
    )


def encode_headers(envelope: Envelope) -> Headers:
    headers = [
        ("content-type", CONTENT_TYPE.encode()),
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", envelope.id.encode()),
        ("ce_type", envelope.type.encode()),
        ("ce_source", envelope.source.encode()),
        ("ce_time", envelope.time.isoformat().encode()),
    ]
    headers.extend((f"ce_{k}", v.encode()) for k, v in envelope.extra.items())
    return headers


def header_map(headers: Headers | tuple[tuple[str, bytes], ...] | None) -> dict[str, str]:
    """Headers as text; a header that is not UTF-8 is kept with replacement characters."""
    return {k: (v or b"").decode("utf-8", "replace") for k, v in headers or ()}


def decode_envelope(headers: dict[str, str]) -> Envelope:
    missing = [h for h in ("ce_id", "ce_type", "ce_source", "ce_time") if not headers.get(h)]
    if missing:
        raise PermanentError("missing_header", f"record lacks CloudEvents header(s): {', '.join(missing)}")
    try:
        time = datetime.fromisoformat(headers["ce_time"])
    except ValueError as exc:
        raise PermanentError("invalid_header", f"ce_time is not an ISO-8601 time: {exc}") from exc
    extra = {
        k[3:]: v
        for k, v in headers.items()
        if k.startswith("ce_") and k not in ("ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion")
    }
    return Envelope(id=headers["ce_id"], type=headers["ce_type"], source=headers["ce_source"], time=time, extra=extra)


def decode_message(topic: str, headers: dict[str, str], value: bytes | None) -> Message:
    """Decode a record's value into the event its ce_type names; undecodable records are permanent errors."""
    ce_type = headers.get("ce_type", "")
    cls = MESSAGE_BY_TYPE.get(ce_type) or MESSAGE_BY_TOPIC.get(topic)
    if cls is None:
        raise PermanentError("unknown_type", f"no event type {ce_type!r} for topic {topic}")
    if headers.get("content-type", CONTENT_TYPE) != CONTENT_TYPE:
        raise PermanentError(
            "unsupported_content_type", f"content-type {headers['content-type']!r} is not {CONTENT_TYPE}"
        )
    if value is None:
        raise PermanentError("empty_value", "record has no value")
    message = cls()
    try:
        message.ParseFromString(value)
    except DecodeError as exc:
        raise PermanentError("undecodable", f"value is not a valid {cls.__name__}: {exc}") from exc
    return message
