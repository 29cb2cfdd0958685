"""The delivery worker: claims due deliveries, sends them within each endpoint's limits, records the outcomes.

Claimed deliveries wait in a short local queue per endpoint (at most twice its slots) until a slot frees; an
endpoint whose queue is full or whose breaker is open gets nothing claimed, and a breaker that opens gives its
queued deliveries back to the database.

It sleeps until the next delivery is due, an endpoint's breaker may probe, a score is queued or a request
ends (never longer than ``webhook_poll_max_seconds``), so an idle worker does not poll the database.
Outcomes are written in batches, each after its final outcomes were announced; each is journaled the moment its
answer arrives (``journal``), so a killed worker's successor records it instead of sending it again.
"""

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge, Histogram

from shortlist.notify import announce, metrics
from shortlist.notify.breaker import CLOSED, OPEN, Endpoint, Endpoints
from shortlist.notify.config import Settings
from shortlist.notify.journal import Journal
from shortlist.notify.models import DELIVERED, FAILED, PENDING, SKIPPED, Subscription, utc
from shortlist.notify.sender import NOT_ALLOWED, Sender, json_headers
from shortlist.notify.signing import signature_headers
from shortlist.notify.store import Claimed, Outcome, Store
from shortlist.runtime.metrics import END_TO_END_SECONDS
from shortlist.runtime.producer import EventProducer

log = logging.getLogger(__name__)

PENDING_DELIVERIES = Gauge("shortlist_webhook_pending_deliveries", "Webhook deliveries waiting to be sent or retried")
DELIVERY_DELAY = Histogram(
    "shortlist_webhook_delivery_delay_seconds",
    "From a score's arrival at notify to its successful delivery",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1800, 3600, 14400, 43200),
)
ATTEMPT_SECONDS = Histogram("shortlist_webhook_attempt_seconds", "Duration of one webhook request", ["outcome"])
_FLUSH_SIZE = 500
_FLUSH_WAIT = 0.02
_PENDING_REFRESH_SECONDS = 5.0
_RECORD_RETRIES = (0.2, 1.0, 5.0)


class Worker:
    def __init__(self, settings: Settings, store: Store, sender: Sender) -> None:
        """The worker has its own producer: it announces outcomes while the service's consumers stop."""
        self._settings = settings
        self._store = store
        self._producer = EventProducer(settings, settings.service_name)
        self._source = f"/shortlist/{settings.service_name}"
        self._sender = sender
        self._schedule = settings.schedule
        self.endpoints = Endpoints(
            settings.webhook_endpoint_concurrency,
            settings.webhook_breaker_failures,
            settings.webhook_breaker_cooldown_seconds,
        )
        self._routes: dict[str, Endpoint] = {}
        self._wake = asyncio.Event()
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._sending: set[asyncio.Task[None]] = set()
        self._releasing: set[asyncio.Task[None]] = set()
        self._queues: defaultdict[str, deque[tuple[Claimed, Subscription]]] = defaultdict(deque)
        self._tasks: list[asyncio.Task[None]] = []
        self._pending_refreshed = 0.0
        self._journal = Journal(settings.state_dir / "notify-outcomes")

    def wake(self) -> None:
        self._wake.set()

    def endpoint_of(self, subscription: Subscription) -> Endpoint:
        return self.endpoints.get(subscription.url)

    async def start(self) -> None:
        await self._producer.start()
        await self._replay(self._journal.open())
        self._tasks = [asyncio.create_task(self._claim_loop()), asyncio.create_task(self._record_loop())]

    async def stop(self) -> None:
        """Stop claiming, let requests in flight end, record their outcomes."""
        self._tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._tasks[0]
        self._give_back()
        if self._releasing:
            await asyncio.wait(self._releasing)
        if self._sending:
            await asyncio.wait(self._sending, timeout=self._settings.webhook_timeout_seconds + 1)
        await self._outcomes.join()
        self._tasks[1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._tasks[1]
        await self._producer.stop()
        self._journal.close()

    async def _replay(self, journaled: list[Outcome]) -> None:
        """Record the answers a killed worker journaled but did not record (their deliveries are still leased)."""
        if not journaled:
            return
        missing = await self._store.unrecorded(journaled)
        await self._record(missing)
        self._journal.recorded(journaled)
        log.info("recorded %d delivery outcomes from the journal of a stopped worker", len(missing))

    async def _claim_loop(self) -> None:
        while True:
            try:
                claimed = await self._claim_once()
                await self._refresh_pending()
            except Exception:
                log.exception("claiming deliveries failed; trying again")
                claimed = 0
                await asyncio.sleep(1.0)
            if claimed:
                continue
            await self._sleep()

    def _room(self, endpoint: Endpoint) -> int:
        """Deliveries the endpoint may still take into its local queue (twice its slots, none while open)."""
        if endpoint.free() <= 0 and endpoint.state != CLOSED:
            return 0
        return 2 * endpoint.concurrency - endpoint.in_flight - len(self._queues[endpoint.key])

    def _blocked(self) -> list[str]:
        """Subscriptions whose endpoint can take nothing now: not claimed, so they hold no one else up."""
        return [sid for sid, endpoint in self._routes.items() if self._room(endpoint) <= 0]

    async def _claim_once(self) -> int:
        self._wake.clear()
        self._dispatch_all()
        queued = sum(len(q) for q in self._queues.values())
        capacity = 2 * self._settings.webhook_max_in_flight - len(self._sending) - queued
        if capacity <= 0:
            return 0
        limit = min(capacity, self._settings.webhook_claim_batch)
        rows = await self._store.claim(limit, self._settings.webhook_lease_seconds, self._blocked())
        for delivery, subscription in rows:
            endpoint = self.endpoint_of(subscription)
            self._routes[subscription.id] = endpoint
            self._queues[endpoint.key].append((delivery, subscription))
        self._dispatch_all()
        return len(rows)

    def _dispatch_all(self) -> None:
        for endpoint in self.endpoints.all():
            queue = self._queues[endpoint.key]
            while queue and endpoint.free() > 0 and len(self._sending) < self._settings.webhook_max_in_flight:
                delivery, subscription = queue.popleft()
                endpoint.begin()
                task = asyncio.create_task(self._send(delivery, subscription, endpoint))
                self._sending.add(task)
                task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._dispatch_all()
        self._wake.set()

    def _give_back(self, endpoint: Endpoint | None = None) -> None:
        """Return queued deliveries (of an endpoint whose breaker opened, or all) to the database unsent."""
        queues = [self._queues[endpoint.key]] if endpoint is not None else list(self._queues.values())
        ids = [d.delivery_id for q in queues for d, _ in q]
        for queue in queues:
            queue.clear()
        if ids:
            task = asyncio.create_task(self._store.release(ids))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def _sleep(self) -> None:
        timeout = self._settings.webhook_poll_max_seconds
        due = await self._store.next_due(self._blocked())
        if due is not None:
            timeout = min(timeout, max(0.0, (due - datetime.now(UTC)).total_seconds()))
        probes = [s for e in self.endpoints.all() if (s := e.seconds_until_probe()) is not None]
        if probes:
            timeout = min(timeout, min(probes))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(timeout, 0.001))

    async def _refresh_pending(self) -> None:
        now = time.monotonic()
        if now - self._pending_refreshed >= _PENDING_REFRESH_SECONDS:
            self._pending_refreshed = now
            PENDING_DELIVERIES.set(await self._store.pending_count())

    async def _send(self, delivery: Claimed, subscription: Subscription, endpoint: Endpoint) -> None:
        sent = None
        try:
            now = datetime.now(UTC)
            body = delivery.body.encode()
            headers = json_headers(signature_headers(subscription.secrets(now), delivery.event_id, body))
            self._journal.begin(delivery)
            sent = await self._sender.post(subscription.url, headers, body)
        finally:
            # A refusal (4xx other than 408/425/429) says the endpoint is up, nothing about its health.
            neutral = sent is not None and not sent.delivered and not sent.endpoint_failed
            endpoint.end(success=sent is not None and sent.delivered, counts=not neutral)
            if endpoint.state == OPEN:
                self._give_back(endpoint)
        at = datetime.now(UTC)
        ATTEMPT_SECONDS.labels("delivered" if sent.delivered else "failed").observe(sent.latency_seconds)
        common = {
            "at": at,
            "status_code": sent.status_code,
            "error": sent.error,
            "latency_seconds": sent.latency_seconds,
        }
        if sent.delivered:
            outcome = Outcome(delivery, DELIVERED, **common)  # type: ignore[arg-type]
        elif sent.error == NOT_ALLOWED:
            outcome = Outcome(delivery, SKIPPED, **common)  # type: ignore[arg-type]
        else:
            wait = self._schedule.delay(delivery.tries + 1, sent.retry_after) if sent.retryable else None
            if wait is None:
                outcome = Outcome(delivery, FAILED, **common)  # type: ignore[arg-type]
            else:
                outcome = Outcome(delivery, PENDING, next_at=at + timedelta(seconds=wait), **common)  # type: ignore[arg-type]
        self._journal.write(outcome)
        await self._outcomes.put(outcome)

    async def _record_loop(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            deadline = time.monotonic() + _FLUSH_WAIT
            while len(batch) < _FLUSH_SIZE:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._outcomes.get(), remaining))
                except TimeoutError:
                    break
            try:
                await self._record_with_retries(batch)
                self._wake.set()  # retries were rescheduled: the next due time may have moved closer
            finally:
                for _ in batch:
                    self._outcomes.task_done()

    async def _record_with_retries(self, batch: list[Outcome]) -> None:
        for wait in (*_RECORD_RETRIES, None):
            try:
                await self._record(batch)
                self._journal.recorded(batch)
                return
            except Exception:
                if wait is None:
                    # Still in the journal: recorded on the next start, unless the lease ran out and the
                    # delivery was sent again meanwhile (same webhook-id).
                    log.exception("recording %d delivery outcomes failed; giving up until restart", len(batch))
                    return
                log.warning("recording %d delivery outcomes failed; trying again in %.1f s", len(batch), wait)
                await asyncio.sleep(wait)

    async def _record(self, batch: list[Outcome]) -> None:
        finals = [o for o in batch if o.state != PENDING]
        await announce.finals(self._producer, self._source, [self._finished(o) for o in finals])
        await self._store.finish(batch)
        for outcome in batch:
            if outcome.state != PENDING:
                announce.DELIVERIES.labels(outcome.state).inc()
                metrics.SUBSCRIPTION_DELIVERIES.labels(outcome.delivery.subscription_id, outcome.state).inc()
            if outcome.state == FAILED:
                log.warning(
                    "delivery %s to subscription %s failed after %d attempts (%s)",
                    outcome.delivery.delivery_id,
                    outcome.delivery.subscription_id,
                    outcome.delivery.attempts + 1,
                    outcome.error,
                )
            if outcome.state == DELIVERED:
                DELIVERY_DELAY.observe((outcome.at - utc(outcome.delivery.created_at)).total_seconds())
                if outcome.delivery.submitted_at is not None:
                    submitted = utc(outcome.delivery.submitted_at)
                    END_TO_END_SECONDS.labels("delivered").observe((outcome.at - submitted).total_seconds())

    @staticmethod
    def _finished(outcome: Outcome) -> tuple[announce.Finished, float]:
        d = outcome.delivery
        done = announce.Finished(
            delivery_id=d.delivery_id,
            subscription_id=d.subscription_id,
            application_id=d.application_id,
            job_id=d.job_id,
            event_id=d.event_id,
            attempts=d.attempts + 1,
            state=outcome.state,
            status_code=outcome.status_code,
            error=outcome.error,
            finished_at=outcome.at,
        )
        return done, outcome.latency_seconds
