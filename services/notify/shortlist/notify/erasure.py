"""The erasure hook: a ``CandidateErased`` deletes the deliveries of the candidate's applications.

The applications are tombstoned too, so a score of theirs still on its way is never delivered.
"""

import logging

from shortlist.notify.store import Store
from shortlist.runtime.erasure import erasure_request
from shortlist.runtime.records import Record

log = logging.getLogger(__name__)

#: Its own consumer group, so an erasure never waits behind a backlog of scores to deliver.
ERASURE_GROUP = "shortlist-notify-erasure"


class ErasureHandler:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def on_candidate_erased(self, record: Record) -> None:
        """Idempotent, so replays are harmless. The delivery log keeps application ids only, so the event's
        application ids are what is erased."""
        request = erasure_request(record)
        deleted = await self._store.erase(request.application_ids, request.erased_at)
        log.info("candidate erasure applied: %d deliveries deleted", deleted)
