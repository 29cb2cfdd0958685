"""``DeliveryAttempted`` on notify.delivered.v1: a delivery's final outcome, or that no subscription matched."""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import trace
from prometheus_client import Counter

from shortlist.notify.models import Delivery, utc
from shortlist.runtime.events import encode_headers, new_envelope, topic_of
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.tracing import inject_headers
from shortlist.v1 import notify_pb2, score_pb2

NO_SUBSCRIBERS = "no_subscribers"
_NO_SUBSCRIBERS_NAMESPACE = uuid.UUID("5d7c2f0e-3b1a-4c8e-9f6d-2a4b8c1e7f30")
_ANNOUNCEMENT_NAMESPACE = uuid.UUID("b7d0f3c4-1e2a-4f5b-8c6d-9e0a1b2c3d4e")

DELIVERED_TOPIC = topic_of(notify_pb2.DeliveryAttempted())
tracer = trace.get_tracer(__name__)

DELIVERIES = Counter("shortlist_webhook_deliveries_total", "Webhook deliveries by final outcome", ["outcome"])


@dataclass(frozen=True, slots=True)
class Finished:
    """The fields of a finished delivery an announcement carries (a stored ``Delivery`` has them too)."""

    delivery_id: str
    subscription_id: str
    application_id: str
    job_id: str
    event_id: str
    attempts: int
    state: str
    status_code: int | None
    error: str | None
    finished_at: datetime | None


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(utc(value))
    return stamp


def _event(delivery: Delivery | Finished, duration_seconds: float) -> tuple[notify_pb2.DeliveryAttempted, str]:
    """The announcement and its ``ce_id``: fixed per delivery and attempt count, so announcing again after a crash
    is deduplicated downstream, while a redelivery is a new event."""
    event = notify_pb2.DeliveryAttempted(
        delivery_id=delivery.delivery_id,
        subscription_id=delivery.subscription_id,
        application_id=delivery.application_id,
        job_id=delivery.job_id,
        event_id=delivery.event_id,
        attempt=delivery.attempts,
        outcome=delivery.state,
        status_code=delivery.status_code or 0,
        error=delivery.error or "",
        duration_seconds=duration_seconds,
        attempted_at=_timestamp(delivery.finished_at or datetime.now(UTC)),
    )
    return event, str(uuid.uuid5(_ANNOUNCEMENT_NAMESPACE, f"{delivery.delivery_id}/{delivery.attempts}"))


async def final(producer: EventProducer, delivery: Delivery | Finished, duration_seconds: float = 0.0) -> None:
    """Announce one finished delivery."""
    event, event_id = _event(delivery, duration_seconds)
    await producer.publish(event, key=delivery.application_id, event_id=event_id)


async def finals(producer: EventProducer, source: str, finished: Sequence[tuple[Finished, float]]) -> None:
    """Announce a batch of finished deliveries (with their last request's duration), each its own event, under one
    producer span; returns once the broker has every one. One span and one trace context per batch, not per
    delivery: at a thousand deliveries a second the span per event cost as much as the event."""
    if not finished:
        return
    with tracer.start_as_current_span(f"{DELIVERED_TOPIC} publish", kind=trace.SpanKind.PRODUCER) as span:
        span.set_attribute("messaging.system", "kafka")
        span.set_attribute("messaging.destination.name", DELIVERED_TOPIC)
        span.set_attribute("messaging.batch.message_count", len(finished))
        context = inject_headers()
        sends = []
        for delivery, duration_seconds in finished:
            event, event_id = _event(delivery, duration_seconds)
            headers = encode_headers(new_envelope(event, source, event_id)) + context
            key = delivery.application_id.encode()
            sends.append(producer.send_raw(DELIVERED_TOPIC, key, event.SerializeToString(), headers))
        await asyncio.gather(*sends)


async def no_subscribers(producer: EventProducer, event_id: str, scored: score_pb2.CvScored) -> None:
    delivery_id = str(uuid.uuid5(_NO_SUBSCRIBERS_NAMESPACE, event_id))
    event = notify_pb2.DeliveryAttempted(
        delivery_id=delivery_id,
        application_id=scored.application_id,
        job_id=scored.job_id,
        event_id=event_id,
        outcome=NO_SUBSCRIBERS,
        attempted_at=_timestamp(datetime.now(UTC)),
    )
    await producer.publish(event, key=scored.application_id, event_id=delivery_id)
    DELIVERIES.labels(NO_SUBSCRIBERS).inc()
