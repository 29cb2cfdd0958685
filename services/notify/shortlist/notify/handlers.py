"""Consume CvScored: queue one pending delivery per matching subscription and return; the worker sends them."""

import logging
from datetime import UTC, datetime

from shortlist.notify import announce
from shortlist.notify.models import FINAL
from shortlist.notify.payload import recommendation_name, scored_body
from shortlist.notify.store import Queued, Store, delivery_id
from shortlist.notify.worker import Worker
from shortlist.runtime.errors import PermanentError
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.v1 import score_pb2

log = logging.getLogger(__name__)

ERASED = "erased"


class Notifier:
    def __init__(self, store: Store, producer: EventProducer, worker: Worker) -> None:
        self._store = store
        self._producer = producer
        self._worker = worker

    async def handle_scored(self, record: Record) -> None:
        scored = record.message
        if not isinstance(scored, score_pb2.CvScored):
            raise PermanentError("unexpected_event", f"expected CvScored, got {type(scored).__name__}")
        event_id = record.envelope.id
        recommendation = recommendation_name(scored.recommendation)
        subscriptions = [
            s
            for s in await self._store.matching(scored.job_id)
            if s.matches(scored.job_id, scored.score, recommendation)
        ]
        if not subscriptions:
            if await self._store.is_erased(scored.application_id):
                self._erased(scored)
            else:
                await announce.no_subscribers(self._producer, event_id, scored)
            return
        body = scored_body(event_id, scored).decode()
        now = datetime.now(UTC)
        submitted = scored.submitted_at.ToDatetime(tzinfo=UTC) if scored.HasField("submitted_at") else None
        rows = [
            Queued(
                delivery_id=delivery_id(s.id, event_id),
                subscription_id=s.id,
                event_id=event_id,
                application_id=scored.application_id,
                job_id=scored.job_id,
                body=body,
                submitted_at=submitted,
                created_at=now,
                next_at=now,
            )
            for s in subscriptions
        ]
        known = await self._store.enqueue(rows)
        if known is None:
            self._erased(scored)
            return
        self._worker.wake()
        # A replayed score: deliveries already finished are announced again (the same event id downstream).
        for delivery in known:
            if delivery.state in FINAL:
                await announce.final(self._producer, delivery)

    @staticmethod
    def _erased(scored: score_pb2.CvScored) -> None:
        announce.DELIVERIES.labels(ERASED).inc()
        log.info("score of application %s not delivered: its candidate was erased", scored.application_id)
