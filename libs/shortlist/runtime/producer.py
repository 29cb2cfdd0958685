"""The producer every service publishes with: CloudEvents headers, trace context, metrics."""

from aiokafka import AIOKafkaProducer
from google.protobuf.message import Message
from opentelemetry import trace

from shortlist.runtime import metrics
from shortlist.runtime.events import Envelope, Headers, encode_headers, new_envelope, topic_of
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.tracing import inject_headers

tracer = trace.get_tracer("shortlist.runtime.producer")


class EventProducer:
    def __init__(self, settings: KafkaSettings, service: str) -> None:
        self._settings = settings
        self._service = service
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # Created here, not in __init__: aiokafka needs a running event loop, and services are built before it.
        s = self._settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap,
            enable_idempotence=s.kafka_idempotence,
            acks="all",
            request_timeout_ms=s.kafka_request_timeout_ms,
            linger_ms=5,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, message: Message, key: str, event_id: str | None = None) -> Envelope:
        """Send one event and wait until the broker has it. Returns its envelope (ce_id, time, ...)."""
        topic = topic_of(message)
        envelope = new_envelope(message, source=f"/shortlist/{self._service}", event_id=event_id)
        with tracer.start_as_current_span(f"{topic} publish", kind=trace.SpanKind.PRODUCER) as span:
            span.set_attribute("messaging.system", "kafka")
            span.set_attribute("messaging.destination.name", topic)
            span.set_attribute("messaging.message.id", envelope.id)
            headers = encode_headers(envelope) + inject_headers()
            await self.send_raw(topic, key.encode(), message.SerializeToString(), headers)
        return envelope

    async def send_raw(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        assert self._producer is not None, "start() first"
        await self._producer.send_and_wait(topic, value=value, key=key, headers=headers)
        metrics.RECORDS_OUT.labels(self._service, topic).inc()
