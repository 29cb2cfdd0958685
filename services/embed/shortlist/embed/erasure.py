"""The erasure hook: a ``CandidateErased`` removes every stored chunk of the candidate."""

import logging

from shortlist.embed.store import VectorStore
from shortlist.runtime.erasure import erasure_request
from shortlist.runtime.records import Record

log = logging.getLogger(__name__)

ERASURE_GROUP = "shortlist-embed-erasure"


class ErasureHandler:
    def __init__(self, store: VectorStore) -> None:
        self._store = store

    async def on_candidate_erased(self, record: Record) -> None:
        """Deletes by candidate id and by the listed application ids; idempotent, so replays are harmless."""
        request = erasure_request(record)
        deleted = await self._store.delete_candidate(request.candidate_id, request.application_ids)
        log.info("erased candidate %s: %d chunks deleted", request.candidate_id, deleted)
