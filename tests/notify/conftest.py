"""A webhook receiver run by the tests, and a reader of notify.delivered.v1."""

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shortlist.notify import targets
from shortlist.notify.app import build
from shortlist.notify.config import Settings
from shortlist.runtime.records import decode_record
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import NOTIFY_DELIVERED
from shortlist.v1 import notify_pb2


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


Action = int | tuple[int, dict[str, str]] | str
"""A status; a status with headers; ``"close"`` (drop the connection unanswered); ``"hang"`` (never answer)."""


@dataclass
class Receiver:
    """An HTTP server on a free loopback port. ``script[path]``: actions, one per request, then 200."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[Action]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int, within: float = 60.0) -> list[Received]:
        for _ in range(int(within / 0.05)):
            if len(self.at(path)) >= count:
                break
            await asyncio.sleep(0.05)
        return self.at(path)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with state.lock:
                state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                planned = state.script.get(self.path)
                action = planned.pop(0) if planned else 200
            if action == "close":
                self.close_connection = True
                return
            if action == "hang":
                state.stopping.wait(60)
                return
            status, headers = action if isinstance(action, tuple) else (int(action), {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.stopping.set()
    server.shutdown()
    server.server_close()


async def delivery_events(
    settings: KafkaSettings, application_id: str, count: int, within: float = 60.0
) -> list[notify_pb2.DeliveryAttempted]:
    """The DeliveryAttempted events of one application, once ``count`` of them are on the topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[notify_pb2.DeliveryAttempted] = []
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(NOTIFY_DELIVERED, p) for p in consumer.partitions_for_topic(NOTIFY_DELIVERED) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + within
        while len(found) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for raw in records:
                    message = decode_record(raw).message
                    assert isinstance(message, notify_pb2.DeliveryAttempted)
                    if message.application_id == application_id:
                        found.append(message)
    finally:
        await consumer.stop()
    return found


@contextlib.asynccontextmanager
async def notify_api(
    settings: Settings, lookup: targets.Lookup = targets.system_lookup
) -> AsyncIterator[httpx.AsyncClient]:
    """Notify built from ``settings`` and running (consumers and worker); a client of its API with key test-key."""
    service, app = build(settings, lookup=lookup)
    async with (
        service.running(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://notify",
            headers={"Authorization": "Bearer test-key"},
        ) as client,
    ):
        yield client
