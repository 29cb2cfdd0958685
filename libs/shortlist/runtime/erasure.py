"""Reading a ``CandidateErased`` record the same way in every service that erases."""

from dataclasses import dataclass
from datetime import UTC, datetime

from shortlist.runtime.errors import PermanentError
from shortlist.runtime.records import Record
from shortlist.v1 import cv_pb2


@dataclass(frozen=True)
class ErasureRequest:
    candidate_id: str
    application_ids: list[str]
    erased_at: datetime


def erasure_request(record: Record) -> ErasureRequest:
    """The candidate and applications to erase; PermanentError when the record names neither."""
    message = record.message
    if not isinstance(message, cv_pb2.CandidateErased):
        raise PermanentError("unexpected_event", f"expected CandidateErased, got {type(message).__name__}")
    if not message.candidate_id and not message.application_ids:
        raise PermanentError("invalid_event", "CandidateErased names no candidate and no application")
    at = message.erased_at.ToDatetime(tzinfo=UTC) if message.HasField("erased_at") else datetime.now(UTC)
    return ErasureRequest(message.candidate_id, list(message.application_ids), at)
