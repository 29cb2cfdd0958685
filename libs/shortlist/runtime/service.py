"""One service process: HTTP API, consumer loops and producer in one event loop, with a graceful stop."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import uvicorn
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from shortlist.runtime.consumer import ConsumerLoop, Handler
from shortlist.runtime.health import watching
from shortlist.runtime.logs import setup_logging
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import ServiceSettings
from shortlist.runtime.topics import ensure_topics
from shortlist.runtime.tracing import setup_tracing

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The service handles SIGTERM/SIGINT itself, to drain the consumers before the server stops.
        yield


class Service:
    """What every service process has: settings, a producer and its consumer loops."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.producer = EventProducer(settings, self.name)
        self.consumers: list[ConsumerLoop] = []
        self._started = False
        self._on_start: list[Hook] = []
        self._on_stop: list[Hook] = []
        self._periodic: list[tuple[float, Hook]] = []

    def consume(self, group_id: str, handlers: dict[str, Handler]) -> ConsumerLoop:
        loop = ConsumerLoop(self.settings, self.name, group_id, handlers, self.producer)
        self.consumers.append(loop)
        return loop

    def on_start(self, hook: Hook) -> None:
        self._on_start.append(hook)

    def on_stop(self, hook: Hook) -> None:
        self._on_stop.append(hook)

    def every(self, seconds: float, hook: Hook) -> None:
        """Run ``hook`` every ``seconds`` while the service runs (e.g. to refresh a gauge from a store)."""
        self._periodic.append((seconds, hook))

    async def readiness(self) -> str | None:
        if not self._started:
            return "starting"
        waiting = [",".join(c.topics) for c in self.consumers if not c.is_assigned]
        return f"waiting for partitions of {'; '.join(waiting)}" if waiting else None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[list[asyncio.Task[None]]]:
        """Start hooks, producer and consumers; yield the consumer tasks; drain and stop on exit."""
        await ensure_topics(self.settings)
        for hook in self._on_start:
            await hook()
        await self.producer.start()
        tasks: list[asyncio.Task[None]] = []
        try:
            for consumer in self.consumers:
                await consumer.start()
                tasks.append(asyncio.create_task(consumer.run(), name=f"consume {','.join(consumer.topics)}"))
            self._started = True
            async with watching(self.name, self._periodic):
                yield tasks
        finally:
            for consumer in self.consumers:
                consumer.request_stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            for consumer in self.consumers:
                await consumer.stop()
            await self.producer.stop()
            for hook in reversed(self._on_stop):
                await hook()


async def serve(service: Service, app: FastAPI) -> None:
    """Run until SIGTERM/SIGINT or until a consumer loop dies."""
    settings = service.settings
    server = _Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with service.running() as consumer_tasks:
        server_task = asyncio.create_task(server.serve(), name="http")
        stop_task = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stop_task, server_task, *consumer_tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stop_task and task.exception() is not None:
                log.error("%s stopped: %r", task.get_name(), task.exception())
        log.info("stopping: draining in-flight records")
        for consumer in service.consumers:
            consumer.request_stop()
        server.should_exit = True
        await server_task
        stop_task.cancel()
    log.info("stopped")


def run(service: Service, app: FastAPI) -> None:
    """Entry point of ``python -m shortlist.<service>``."""
    settings = service.settings
    setup_logging(service.name, settings.log_level)
    provider: TracerProvider = setup_tracing(
        service.name, settings.trace_file or settings.state_path("traces", f"{service.name}.jsonl")
    )
    try:
        asyncio.run(serve(service, app))
    finally:
        provider.shutdown()
