"""The erasure hook: a ``CandidateErased`` deletes the candidate's score audit rows and cached LLM answers."""

import logging
from collections.abc import Awaitable, Callable, Sequence

from shortlist.runtime.erasure import erasure_request
from shortlist.runtime.records import Record
from shortlist.score.audit import AuditStore

log = logging.getLogger(__name__)

#: Its own consumer group, so an erasure never waits behind a backlog of CVs to score.
ERASURE_GROUP = "shortlist-score-erasure"

#: Deletes what a scorer keeps about the given candidate and application ids (the LLM scorer's response cache).
Forget = Callable[[Sequence[str]], Awaitable[int]]


class ErasureHandler:
    def __init__(self, audit: AuditStore, forget: Forget | None = None) -> None:
        self._audit = audit
        self._forget = forget

    async def on_candidate_erased(self, record: Record) -> None:
        """Deletes by candidate id and by the listed application ids; idempotent, so replays are harmless."""
        request = erasure_request(record)
        forgotten = 0
        if self._forget is not None:
            forgotten = await self._forget([request.candidate_id, *request.application_ids])
        deleted = await self._audit.erase(request.candidate_id, request.application_ids, request.erased_at)
        log.info("candidate erasure applied: %d score audit rows and %d cached answers deleted", deleted, forgotten)
