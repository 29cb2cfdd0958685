"""A real service process (tests/runtime/consumer_app.py) killed or stopped mid-batch, then restarted in its group."""

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from shortlist.runtime.broker import free_port
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import dlt, ensure_topics
from shortlist.v1 import cv_pb2
from tests.runtime.consumer_app import connect
from tests.runtime.helpers import eventually, read_all, send_event

APP = Path(__file__).with_name("consumer_app.py")
pytestmark = pytest.mark.timeout(180)


class App:
    """consumer_app.py runs with the name ``run`` over ``topic`` in ``group``, writing to ``db``."""

    def __init__(self, settings: KafkaSettings, tmp_path: Path, topic: str, group: str, delay: float) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.topic = topic
        self.group = group
        self.delay = delay
        self.db = tmp_path / "side-effects.sqlite"
        connect(self.db).close()
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, run: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHORTLIST_")}
        env |= {
            "SHORTLIST_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "SHORTLIST_PORT": str(free_port()),
            "SHORTLIST_STATE_DIR": str(self.tmp_path / "state"),
            "SHORTLIST_CONSUMER_POLL_MS": "100",
            "SHORTLIST_CONSUMER_BATCH_SIZE": "32",
        }
        with (self.tmp_path / f"{run}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, str(APP), self.topic, self.group, str(self.db), run, str(self.delay)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def ids(self, table: str, run: str | None = None) -> list[str]:
        with contextlib.closing(sqlite3.connect(self.db, timeout=10)) as db:
            if run is None:
                rows = db.execute(f"SELECT ce_id FROM {table}").fetchall()
            else:
                rows = db.execute(f"SELECT ce_id FROM {table} WHERE run = ?", (run,)).fetchall()
        return [r[0] for r in rows]

    async def wait_for(self, process: subprocess.Popen[bytes], what: str, condition: Callable[[], bool]) -> None:
        def check() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the consumer exited ({process.returncode}) before {what}; see {self.tmp_path}")
            return condition()

        await eventually(check, what, within=90, every=0.02)

    async def exit_code(self, process: subprocess.Popen[bytes]) -> int:
        return await asyncio.to_thread(process.wait, 60)

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


AppFactory = Callable[[float], Awaitable[App]]


@pytest.fixture
async def app_factory(kafka_settings: KafkaSettings, tmp_path: Path, unique: str) -> AsyncIterator[AppFactory]:
    apps: list[App] = []

    async def make(delay: float) -> App:
        topic = f"test.{unique}.crash.v1"
        await ensure_topics(kafka_settings, (topic, dlt(topic)))
        app = App(kafka_settings, tmp_path, topic, f"test-crash-{unique}", delay)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.kill_all()


async def produce(producer: EventProducer, topic: str, count: int) -> set[str]:
    envelopes = await asyncio.gather(
        *(
            send_event(producer, topic, cv_pb2.CvSubmitted(application_id=f"app-{i}", text="t"), f"app-{i}")
            for i in range(count)
        )
    )
    return {e.id for e in envelopes}


async def test_a_consumer_killed_mid_batch_loses_nothing_after_restart(
    app_factory: AppFactory, producer: EventProducer
) -> None:
    total = 200
    app = await app_factory(0.02)
    produced = await produce(producer, app.topic, total)

    first = app.start("first")
    await app.wait_for(first, "the first run to handle 40 records", lambda: len(app.ids("deliveries")) >= 40)
    first.send_signal(signal.SIGKILL)
    assert await app.exit_code(first) == -signal.SIGKILL
    done_before_kill = set(app.ids("deliveries", "first"))
    cut_off = set(app.ids("started", "first")) - done_before_kill
    assert len(done_before_kill) < total

    second = app.start("second")
    await app.wait_for(second, "every record to be handled", lambda: len(app.ids("handled")) == total)
    second.send_signal(signal.SIGTERM)
    assert await app.exit_code(second) == 0

    handled = app.ids("handled")
    assert len(handled) == total and set(handled) == produced
    assert cut_off <= set(app.ids("deliveries", "second"))  # work the kill interrupted was done again
    assert len(app.ids("deliveries")) >= total
    assert await read_all(app.settings.kafka_bootstrap, dlt(app.topic)) == []


async def test_sigterm_finishes_the_in_flight_records_commits_and_exits_cleanly(
    app_factory: AppFactory, producer: EventProducer
) -> None:
    total = 80
    app = await app_factory(0.5)
    produced = await produce(producer, app.topic, total)

    first = app.start("first")
    await app.wait_for(first, "the first run to handle 4 records", lambda: len(app.ids("deliveries")) >= 4)
    first.send_signal(signal.SIGTERM)
    assert await app.exit_code(first) == 0
    first_run = app.ids("deliveries", "first")
    assert len(first_run) < total
    # Every record whose handler had started when the signal came was finished.
    assert sorted(app.ids("started", "first")) == sorted(first_run)

    second = app.start("second")
    await app.wait_for(second, "every record to be handled", lambda: len(app.ids("handled")) == total)
    second.send_signal(signal.SIGTERM)
    assert await app.exit_code(second) == 0

    second_run = app.ids("deliveries", "second")
    # The first run committed everything it handled: the group's next member got none of it again.
    assert set(first_run).isdisjoint(second_run)
    assert len(first_run) + len(second_run) == total
    assert set(app.ids("handled")) == produced
