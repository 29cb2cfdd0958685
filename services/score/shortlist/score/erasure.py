"""The erasure hook: a ``CandidateErased`` deletes the candidate's score audit rows."""

import logging
from datetime import UTC, datetime

from shortlist.runtime.errors import PermanentError
from shortlist.runtime.records import Record
from shortlist.score.audit import AuditStore
from shortlist.v1 import cv_pb2

log = logging.getLogger(__name__)

#: Its own consumer group, so an erasure never waits behind a backlog of CVs to score.
ERASURE_GROUP = "shortlist-score-erasure"


class ErasureHandler:
    def __init__(self, audit: AuditStore) -> None:
        self._audit = audit

    async def on_candidate_erased(self, record: Record) -> None:
        """Deletes by candidate id and by the listed application ids; idempotent, so replays are harmless."""
        message = record.message
        if not isinstance(message, cv_pb2.CandidateErased):
            raise PermanentError("unexpected_event", f"expected CandidateErased, got {type(message).__name__}")
        if not message.candidate_id and not message.application_ids:
            raise PermanentError("invalid_event", "CandidateErased names no candidate and no application")
        at = message.erased_at.ToDatetime(tzinfo=UTC) if message.HasField("erased_at") else datetime.now(UTC)
        deleted = await self._audit.erase(message.candidate_id, list(message.application_ids), at)
        log.info("candidate erasure applied: %d score audit rows deleted", deleted)
