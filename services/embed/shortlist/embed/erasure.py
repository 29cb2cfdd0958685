"""The erasure hook: a ``CandidateErased`` removes every stored chunk of the candidate."""

import logging

from shortlist.embed.store import VectorStore
from shortlist.runtime.errors import PermanentError
from shortlist.runtime.records import Record
from shortlist.v1 import cv_pb2

log = logging.getLogger(__name__)

ERASURE_GROUP = "shortlist-embed-erasure"


class ErasureHandler:
    def __init__(self, store: VectorStore) -> None:
        self._store = store

    async def on_candidate_erased(self, record: Record) -> None:
        """Deletes by candidate id and by the listed application ids; idempotent, so replays are harmless."""
        message = record.message
        if not isinstance(message, cv_pb2.CandidateErased):
            raise PermanentError("unexpected_event", f"expected CandidateErased, got {type(message).__name__}")
        if not message.candidate_id and not message.application_ids:
            raise PermanentError("invalid_event", "CandidateErased names no candidate and no application")
        deleted = await self._store.delete_candidate(message.candidate_id, list(message.application_ids))
        log.info("erased candidate %s: %d chunks deleted", message.candidate_id, deleted)
