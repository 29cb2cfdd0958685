"""Consume CvScored: deliver it to every matching subscription, log each delivery, publish DeliveryAttempted."""

import asyncio
import logging
import uuid
from datetime import UTC, datetime

import httpx
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import Counter

from shortlist.notify import metrics, targets
from shortlist.notify.config import Settings
from shortlist.notify.delivery import DELIVERED, Policy, Result, deliver
from shortlist.notify.payload import scored_body
from shortlist.notify.store import Delivery, Store, Subscription, utc
from shortlist.runtime.errors import PermanentError
from shortlist.runtime.metrics import END_TO_END_SECONDS
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.v1 import notify_pb2, score_pb2

log = logging.getLogger(__name__)

SKIPPED = "skipped"
NO_SUBSCRIBERS = "no_subscribers"
ERASED = "erased"
_NO_SUBSCRIBERS_NAMESPACE = uuid.UUID("5d7c2f0e-3b1a-4c8e-9f6d-2a4b8c1e7f30")

DELIVERIES = Counter("shortlist_webhook_deliveries_total", "Webhook deliveries by final outcome", ["outcome"])


class Notifier:
    def __init__(self, settings: Settings, store: Store, producer: EventProducer) -> None:
        self._settings = settings
        self._store = store
        self._producer = producer
        self._policy = Policy(
            max_attempts=settings.webhook_max_attempts,
            backoff_initial_seconds=settings.webhook_backoff_initial_seconds,
            backoff_max_seconds=settings.webhook_backoff_max_seconds,
        )
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._settings.webhook_timeout_seconds, follow_redirects=False)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def handle_scored(self, record: Record) -> None:
        scored = record.message
        if not isinstance(scored, score_pb2.CvScored):
            raise PermanentError("unexpected_event", f"expected CvScored, got {type(scored).__name__}")
        event_id = record.envelope.id
        if await self._store.is_erased(scored.application_id):
            DELIVERIES.labels(ERASED).inc()
            log.info("score of application %s not delivered: its candidate was erased", scored.application_id)
            return
        subscriptions = [
            s for s in await self._store.subscriptions(scored.job_id) if s.matches(scored.job_id, scored.score)
        ]
        if not subscriptions:
            await self._publish_no_subscribers(event_id, scored)
            return
        body = scored_body(event_id, scored)
        results = await asyncio.gather(
            *(self._deliver(s, event_id, scored, body) for s in subscriptions), return_exceptions=True
        )
        # Every delivery ran to its end; a failed one makes the record retried, and the delivery log keeps
        # the subscriptions already served from getting it twice.
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if any(results):
            metrics.DELIVERY_DELAY.observe(max(0.0, (datetime.now(UTC) - record.envelope.time).total_seconds()))
        if any(results) and scored.HasField("submitted_at"):
            submitted = scored.submitted_at.ToDatetime(tzinfo=UTC)
            END_TO_END_SECONDS.labels("delivered").observe((datetime.now(UTC) - submitted).total_seconds())

    async def _deliver(
        self, subscription: Subscription, event_id: str, scored: score_pb2.CvScored, body: bytes
    ) -> bool:
        """Deliver to one subscription; True when it was delivered now (not earlier)."""
        done = await self._store.delivered(subscription.id, event_id)
        if done is not None:
            await self._publish(done, scored.job_id, 0.0)
            return False
        assert self._client is not None, "start() first"
        try:
            await targets.check(subscription.url, self._settings.allowed_hosts)
        except targets.TargetNotAllowed:
            result = Result(SKIPPED, 0, None, "target_not_allowed", 0.0)
        else:
            result = await deliver(self._client, subscription.url, subscription.secret, event_id, body, self._policy)
        row = Delivery(
            delivery_id=str(uuid.uuid4()),
            subscription_id=subscription.id,
            event_id=event_id,
            application_id=scored.application_id,
            attempt=result.attempts,
            outcome=result.outcome,
            status_code=result.status_code,
            error=result.error,
            at=datetime.now(UTC),
        )
        stored = await self._store.record(row)
        fresh = stored is row
        if fresh:
            DELIVERIES.labels(result.outcome).inc()
            metrics.SUBSCRIPTION_DELIVERIES.labels(subscription.id, result.outcome).inc()
            log.info(
                "delivery %s to subscription %s: %s after %d tries (%s)",
                row.delivery_id,
                subscription.id,
                result.outcome,
                result.attempts,
                result.error or result.status_code,
            )
        await self._publish(stored, scored.job_id, result.duration_seconds)
        return fresh and stored.outcome == DELIVERED

    async def _publish(self, delivery: Delivery, job_id: str, duration_seconds: float) -> None:
        attempted_at = Timestamp()
        attempted_at.FromDatetime(utc(delivery.at))
        event = notify_pb2.DeliveryAttempted(
            delivery_id=delivery.delivery_id,
            subscription_id=delivery.subscription_id,
            application_id=delivery.application_id,
            job_id=job_id,
            event_id=delivery.event_id,
            attempt=delivery.attempt,
            outcome=delivery.outcome,
            status_code=delivery.status_code or 0,
            error=delivery.error or "",
            duration_seconds=duration_seconds,
            attempted_at=attempted_at,
        )
        await self._producer.publish(event, key=delivery.application_id, event_id=delivery.delivery_id)

    async def _publish_no_subscribers(self, event_id: str, scored: score_pb2.CvScored) -> None:
        delivery_id = str(uuid.uuid5(_NO_SUBSCRIBERS_NAMESPACE, event_id))
        attempted_at = Timestamp()
        attempted_at.GetCurrentTime()
        event = notify_pb2.DeliveryAttempted(
            delivery_id=delivery_id,
            application_id=scored.application_id,
            job_id=scored.job_id,
            event_id=event_id,
            outcome=NO_SUBSCRIBERS,
            attempted_at=attempted_at,
        )
        await self._producer.publish(event, key=scored.application_id, event_id=delivery_id)
        DELIVERIES.labels(NO_SUBSCRIBERS).inc()
