"""The consumer loop every service runs.

Batches from ``getmany``; each partition's batch is handled by its own task while that partition is paused, so a
record being retried holds up only its own partition; offsets committed only after the handler's side effects;
transient failures retried with backoff, permanent ones dead-lettered; a drain and commit on partition revoke
and on stop.
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata
from opentelemetry import trace

from shortlist.runtime import metrics
from shortlist.runtime.dlt import dead_letter
from shortlist.runtime.errors import PermanentError, TransientError
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record, decode_record
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.tracing import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer("shortlist.runtime.consumer")

Handler = Callable[[Record], Awaitable[None]]
_VANISHED_CHECK_SECONDS = 2.0
RawRecord: TypeAlias = ConsumerRecord[bytes, bytes]


class _CommitOnRevoke(ConsumerRebalanceListener):
    def __init__(self, loop: "ConsumerLoop") -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._loop.release(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        return None


class ConsumerLoop:
    def __init__(
        self,
        settings: KafkaSettings,
        service: str,
        group_id: str,
        handlers: dict[str, Handler],
        producer: EventProducer,
    ) -> None:
        self._settings = settings
        self._service = service
        self._group_id = group_id
        self._handlers = handlers
        self._producer = producer
        self._consumer: AIOKafkaConsumer | None = None
        self._done: dict[TopicPartition, int] = {}
        self._stopping = asyncio.Event()
        self._workers: dict[TopicPartition, tuple[asyncio.Task[None], asyncio.Event]] = {}
        for topic in handlers:  # series from the start, so the first records show in rates
            metrics.RECORDS_IN.labels(service, topic)
            metrics.PROCESSING_SECONDS.labels(service, topic)

    @property
    def topics(self) -> list[str]:
        return sorted(self._handlers)

    async def start(self) -> None:
        s = self._settings
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=s.kafka_request_timeout_ms,
            session_timeout_ms=max(10_000, s.kafka_request_timeout_ms // 3),
            heartbeat_interval_ms=3_000,
            max_poll_interval_ms=600_000,
            metadata_max_age_ms=5_000,
            fetch_max_wait_ms=s.consumer_fetch_wait_ms,
        )
        await self._consumer.start()
        self._consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))

    @property
    def is_assigned(self) -> bool:
        return bool(self._consumer and self._consumer.assignment())

    def request_stop(self) -> None:
        self._stopping.set()
        for _, halt in self._workers.values():
            halt.set()

    async def run(self) -> None:
        """Consume until ``request_stop``; then let the records in hand finish, commit and return."""
        assert self._consumer is not None, "start() first"
        consumer = self._consumer
        checked = time.monotonic()
        try:
            while not self._stopping.is_set():
                if time.monotonic() - checked > _VANISHED_CHECK_SECONDS:
                    await self._rewind_vanished()
                    checked = time.monotonic()
                busy = bool(self._workers)
                batches = await consumer.getmany(
                    timeout_ms=min(self._settings.consumer_poll_ms, 50) if busy else self._settings.consumer_poll_ms,
                    max_records=self._settings.consumer_batch_size,
                )
                for tp, records in batches.items():
                    consumer.pause(tp)
                    halt = asyncio.Event()
                    if self._stopping.is_set():
                        halt.set()
                    self._workers[tp] = (asyncio.create_task(self._work(tp, records, halt)), halt)
                await self._finish({tp for tp, (task, _) in self._workers.items() if task.done()})
        finally:
            await self.release(set(self._workers))

    async def _rewind_vanished(self) -> None:
        """Read a partition again from its start when its log ends before our position.

        A broker that lost its log (the embedded Tansu keeps records in memory, so a restart empties every
        topic) answers fetches beyond the end with no records rather than OFFSET_OUT_OF_RANGE, so the consumer
        would wait at its old position for ever. Records are idempotent, so reading from the start is safe.
        """
        consumer = self._consumer
        assert consumer is not None
        for tp in consumer.assignment() - self._workers.keys():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = await consumer.position(tp)
            if position > highwater:
                log.warning(
                    "%s[%d]: position %d is beyond the end of the log (%d); the broker lost it, reading from the start",
                    tp.topic,
                    tp.partition,
                    position,
                    highwater,
                )
                self._done.pop(tp, None)
                await consumer.seek_to_beginning(tp)

    async def release(self, partitions: set[TopicPartition]) -> None:
        """Stop handling ``partitions`` after the records in hand, and commit what is done."""
        for tp in partitions & self._workers.keys():
            self._workers[tp][1].set()
        await self._finish(partitions)

    async def stop(self) -> None:
        self.request_stop()
        if self._consumer is not None:
            await self.release(set(self._workers) | set(self._done))
            await self._consumer.stop()
            self._consumer = None

    async def _finish(self, partitions: set[TopicPartition]) -> None:
        if not partitions:
            return
        tasks = [self._workers.pop(tp)[0] for tp in partitions if tp in self._workers]
        await asyncio.gather(*tasks)
        await self.commit(partitions)
        if self._consumer is not None and not self._stopping.is_set():
            assigned = self._consumer.assignment()
            self._consumer.resume(*(tp for tp in partitions if tp in assigned))

    async def commit(self, partitions: set[TopicPartition]) -> None:
        assert self._consumer is not None
        offsets = {tp: OffsetAndMetadata(self._done[tp], "") for tp in partitions if tp in self._done}
        if offsets:
            try:
                await self._consumer.commit(offsets)
            except KafkaError as exc:
                # The group moved on (a rebalance, or a broker that restarted and forgot the group): the records
                # will be delivered again, and every side effect is idempotent.
                log.warning("commit of %d partition(s) failed, their records will come again: %r", len(offsets), exc)
            for tp in offsets:
                self._done.pop(tp, None)

    async def _work(self, tp: TopicPartition, records: list[RawRecord], halt: asyncio.Event) -> None:
        await self._handle_partition(records, halt)
        self._record_lag(tp, records)

    async def _handle_partition(self, records: list[RawRecord], halt: asyncio.Event) -> None:
        """Records of one key in order; up to ``consumer_concurrency`` records of different keys at once.

        The committed offset only ever moves over a contiguous run of handled records.
        """
        handled: set[int] = set()
        slots = asyncio.Semaphore(max(1, self._settings.consumer_concurrency))

        async def handle_in_order(same_key: list[RawRecord]) -> None:
            for raw in same_key:
                if halt.is_set():
                    return
                async with slots:
                    if not await self._handle(raw, halt):
                        return
                handled.add(raw.offset)

        by_key: dict[bytes | int, list[RawRecord]] = {}
        for raw in records:
            by_key.setdefault(raw.key if raw.key is not None else raw.offset, []).append(raw)
        await asyncio.gather(*(handle_in_order(same_key) for same_key in by_key.values()))
        for raw in records:
            if raw.offset not in handled:
                break
            self._done[TopicPartition(raw.topic, raw.partition)] = raw.offset + 1

    async def _handle(self, raw: RawRecord, halt: asyncio.Event) -> bool:
        """Handle one record until it succeeds or is dead-lettered. False: stopped before it was done."""
        metrics.RECORDS_IN.labels(self._service, raw.topic).inc()
        try:
            record = decode_record(raw)
        except PermanentError as exc:
            metrics.RECORDS_FAILED.labels(self._service, raw.topic, exc.code).inc()
            await dead_letter(self._producer, self._service, raw, exc.code, exc.message)
            return True
        handler = self._handlers[raw.topic]
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                await self._call(handler, record)
                return True
            except PermanentError as exc:
                metrics.RECORDS_FAILED.labels(self._service, raw.topic, exc.code).inc()
                await dead_letter(self._producer, self._service, raw, exc.code, exc.message)
                return True
            except Exception as exc:
                code, message, limit = _transient_details(exc, self._settings.retry_max_attempts)
                metrics.RECORDS_FAILED.labels(self._service, raw.topic, code).inc()
                if attempt >= limit:
                    await dead_letter(
                        self._producer, self._service, raw, code, f"gave up after {attempt} tries: {message}"
                    )
                    return True
                metrics.RETRIES.labels(self._service, raw.topic, code).inc()
                log.info("retrying %s[%d]@%d (try %d): %s", raw.topic, raw.partition, raw.offset, attempt, code)
                if await _sleep_or_halt(self._backoff(attempt), halt):
                    return False
            finally:
                metrics.PROCESSING_SECONDS.labels(self._service, raw.topic).observe(time.perf_counter() - started)

    async def _call(self, handler: Handler, record: Record) -> None:
        context = extract_context(record.headers)
        with tracer.start_as_current_span(
            f"{record.topic} process", context=context, kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.system", "kafka")
            span.set_attribute("messaging.destination.name", record.topic)
            span.set_attribute("messaging.consumer.group.name", self._group_id)
            span.set_attribute("messaging.message.id", record.envelope.id)
            span.set_attribute("messaging.kafka.offset", record.offset)
            await handler(record)

    def _backoff(self, attempt: int) -> float:
        s = self._settings
        ceiling = min(s.retry_max_seconds, s.retry_initial_seconds * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _record_lag(self, tp: TopicPartition, records: list[RawRecord]) -> None:
        highwater = self._consumer.highwater(tp) if self._consumer is not None else None
        if highwater is not None and records:
            lag = max(0, highwater - (records[-1].offset + 1))
            metrics.CONSUMER_LAG.labels(self._service, tp.topic, str(tp.partition)).set(lag)


async def _sleep_or_halt(seconds: float, halt: asyncio.Event) -> bool:
    try:
        await asyncio.wait_for(halt.wait(), timeout=seconds)
        return True
    except TimeoutError:
        return False


def _transient_details(exc: Exception, default_limit: int) -> tuple[str, str, int]:
    if isinstance(exc, TransientError):
        return exc.code, exc.message, exc.max_attempts or default_limit
    log.exception("handler failed unexpectedly")
    return "unexpected_error", type(exc).__name__, default_limit
