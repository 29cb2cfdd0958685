"""Fixtures shared by every test: one embedded broker per session, settings that point at it."""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from shortlist.runtime.broker import EmbeddedBroker
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings, ServiceSettings
from shortlist.runtime.topics import ensure_topics


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log_file = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_file=log_file) as running:
        yield running


@pytest.fixture(scope="session")
def kafka_settings(broker: EmbeddedBroker) -> KafkaSettings:
    return KafkaSettings(
        kafka_bootstrap=broker.bootstrap,
        retry_initial_seconds=0.05,
        retry_max_seconds=0.5,
        retry_max_attempts=4,
        consumer_poll_ms=100,
    )


@pytest.fixture(scope="session")
async def topics_ready(kafka_settings: KafkaSettings) -> None:
    await ensure_topics(kafka_settings)


@pytest.fixture
def service_settings(kafka_settings: KafkaSettings, tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(**kafka_settings.model_dump(), state_dir=tmp_path / "state", service_name="test")


@pytest.fixture(scope="session")
async def producer(kafka_settings: KafkaSettings, topics_ready: None) -> AsyncIterator[EventProducer]:
    p = EventProducer(kafka_settings, "tests")
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for group ids and topic names, so tests never share offsets."""
    return uuid.uuid4().hex[:8]


def require_services() -> bool:
    """CI sets SHORTLIST_REQUIRE_SERVICES=1: tests that need PostgreSQL or Redis must then run, not skip."""
    return os.environ.get("SHORTLIST_REQUIRE_SERVICES") == "1"


POSTGRES_URL = os.environ.get("SHORTLIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.asynccontextmanager
async def throwaway_postgres(prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards; skips when PostgreSQL is not reachable."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if require_services():
            raise
        pytest.skip(f"PostgreSQL is not reachable: {type(exc).__name__}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
