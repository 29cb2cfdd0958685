"""The erasure hook: a ``CandidateErased`` deletes the candidate's score audit rows."""

import logging

from shortlist.runtime.erasure import erasure_request
from shortlist.runtime.records import Record
from shortlist.score.audit import AuditStore

log = logging.getLogger(__name__)

#: Its own consumer group, so an erasure never waits behind a backlog of CVs to score.
ERASURE_GROUP = "shortlist-score-erasure"


class ErasureHandler:
    def __init__(self, audit: AuditStore) -> None:
        self._audit = audit

    async def on_candidate_erased(self, record: Record) -> None:
        """Deletes by candidate id and by the listed application ids; idempotent, so replays are harmless."""
        request = erasure_request(record)
        deleted = await self._audit.erase(request.candidate_id, request.application_ids, request.erased_at)
        log.info("candidate erasure applied: %d score audit rows deleted", deleted)
