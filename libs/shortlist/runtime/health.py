"""Process-level metrics every service exports: build info and event-loop lag."""

import asyncio
import contextlib
import logging
import platform
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from importlib import metadata

from shortlist.runtime.metrics import BUILD_INFO, EVENT_LOOP_LAG

log = logging.getLogger(__name__)

LAG_PROBE_SECONDS = 0.25


def version() -> str:
    try:
        return metadata.version("shortlist-libs")
    except metadata.PackageNotFoundError:
        return "unknown"


def record_build_info(service: str) -> None:
    BUILD_INFO.labels(service, version(), platform.python_version()).set(1)


async def watch_event_loop(service: str, interval: float = LAG_PROBE_SECONDS) -> None:
    """Sleep ``interval`` again and again; how much later than asked the loop woke is its lag."""
    histogram = EVENT_LOOP_LAG.labels(service)
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(interval)
        histogram.observe(max(0.0, time.perf_counter() - asked - interval))


@contextlib.asynccontextmanager
async def watching(
    service: str, periodic: Sequence[tuple[float, Callable[[], Awaitable[None]]]] = ()
) -> AsyncIterator[None]:
    """Build info, the event-loop probe and the periodic refreshes (gauges read from a store) while running."""
    record_build_info(service)
    tasks = [asyncio.create_task(watch_event_loop(service), name="event loop lag")]
    tasks += [asyncio.create_task(_every(s, hook), name=f"refresh every {s} s") for s, hook in periodic]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _every(seconds: float, hook: Callable[[], Awaitable[None]]) -> None:
    while True:
        try:
            await hook()
        except Exception:
            log.warning("periodic refresh %s failed", getattr(hook, "__qualname__", hook), exc_info=True)
        await asyncio.sleep(seconds)
