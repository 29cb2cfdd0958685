"""Score audit rows are erased with their candidate: the store on SQLite and PostgreSQL, and end to end."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy import text

from shortlist.runtime.database import database_url
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_SCORED
from shortlist.score.app import build
from shortlist.score.audit import AuditStore, Recorded
from shortlist.score.config import Settings
from shortlist.score.scorers.base import Thresholds
from shortlist.score.scorers.rubric import RubricScorer
from shortlist.v1 import cv_pb2
from tests.conftest import throwaway_postgres
from tests.score.factory import STRONG_CV, WEAK_CV, make_embedded
from tests.score.test_service import read_until

NOW = datetime(2026, 2, 1, tzinfo=UTC)

#: score_audit as the first version created it, before rows named their candidate.
OLD_SCHEMA = (
    "CREATE TABLE score_audit (event_id VARCHAR(64) PRIMARY KEY, source_event_id VARCHAR(128) NOT NULL, "
    "application_id VARCHAR(128) NOT NULL, job_id VARCHAR(128) NOT NULL, job_version INTEGER NOT NULL, "
    "scorer VARCHAR(32) NOT NULL, model VARCHAR(256) NOT NULL, prompt_version VARCHAR(64) NOT NULL, "
    "input_hash VARCHAR(64) NOT NULL, score FLOAT NOT NULL, recommendation VARCHAR(16) NOT NULL, "
    "evidence TEXT NOT NULL, output TEXT NOT NULL, scored_at TIMESTAMP WITH TIME ZONE NOT NULL)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield database_url(None, tmp_path / "score.db")
        return
    async with throwaway_postgres("score_test") as url:
        yield database_url(url, Path("unused"))


async def test_an_older_audit_table_is_upgraded_and_erasure_deletes_only_that_candidate(audit_url: str) -> None:
    old = AuditStore(audit_url)
    async with old.engine.begin() as connection:
        await connection.execute(text(OLD_SCHEMA))
        await connection.execute(
            text(
                "INSERT INTO score_audit VALUES ('old-event', 'src', 'app-old', 'job-1', 1, 'rubric', 'm', 'rubric-1', "
                "'h', 50, 'review', '[]', '{}', :at)"
            ),
            {"at": NOW},
        )
    await old.stop()

    audit = AuditStore(audit_url)
    await audit.start()
    await audit.start()  # a restart changes nothing
    try:
        assert [e.candidate_id for e in await audit.for_application("app-old")] == [""]
        scorer = RubricScorer(Thresholds(advance=70, reject=45))
        for app, chunks in (("app-a1", STRONG_CV), ("app-a2", WEAK_CV), ("app-b1", STRONG_CV)):
            embedded = make_embedded(chunks, application_id=app)
            embedded.candidate_id = "cand-b" if app.startswith("app-b") else "cand-a"
            result = await scorer.score(embedded)
            assert await audit.record(f"ev-{app}", f"src-{app}", embedded, result, NOW) == Recorded.STORED
            assert await audit.record(f"ev-{app}", f"src-{app}", embedded, result, NOW) == Recorded.DUPLICATE

        # By candidate id (rows it names) and by application id (the older row that names no candidate).
        assert await audit.erase("cand-a", ["app-old"], NOW) == 3
        for app in ("app-a1", "app-a2", "app-old"):
            assert await audit.for_application(app) == [], app
        assert [e.candidate_id for e in await audit.for_application("app-b1")] == ["cand-b"]
        assert await audit.erase("cand-a", ["app-old"], NOW) == 0  # a replay is harmless

        # A score that arrives after the erasure is not stored again.
        late = make_embedded(STRONG_CV, application_id="app-a1")
        late.candidate_id = "cand-a"
        assert await audit.record("ev-late", "src-late", late, await scorer.score(late), NOW) == Recorded.ERASED
        assert await audit.is_erased("app-a1") and not await audit.is_erased("app-b1")
        assert await audit.for_application("app-a1") == []
    finally:
        await audit.stop()


async def audit_rows(audit: AuditStore, application_id: str) -> int:
    return len(await audit.for_application(application_id))


async def test_candidate_erased_on_the_broker_deletes_the_audit_rows(
    kafka_settings: KafkaSettings, producer: EventProducer, unique: str, tmp_path: Path
) -> None:
    erased, kept = f"app-erased-{unique}", f"app-kept-{unique}"
    for app in (erased, kept):
        await producer.publish(make_embedded(STRONG_CV, application_id=app), key=app)
    settings = Settings(**kafka_settings.model_dump(), state_dir=tmp_path / "state")
    service, _ = build(settings)
    audit = AuditStore(database_url(None, settings.state_path("score.db")))
    try:
        async with service.running():
            for app in (erased, kept):
                await read_until(kafka_settings, CV_SCORED, app)
            assert await audit_rows(audit, erased) == 1 and await audit_rows(audit, kept) == 1

            event = cv_pb2.CandidateErased(candidate_id=f"cand-{erased}", application_ids=[erased])
            event.erased_at.FromDatetime(NOW)
            for _ in range(2):  # delivered twice: the second changes nothing and fails nothing
                await producer.publish(event, key=f"cand-{erased}")
            async with asyncio.timeout(60):  # a hang guard only
                while True:
                    if not await audit_rows(audit, erased):
                        break
                    await asyncio.sleep(0.2)
            assert await audit_rows(audit, kept) == 1

            # A CV of the erased application that arrives later is neither scored nor published.
            skipped = skipped_erased()
            await producer.publish(make_embedded(WEAK_CV, application_id=erased), key=erased)
            async with asyncio.timeout(60):  # a hang guard only
                while skipped_erased() == skipped:  # noqa: ASYNC110 (polls a metric)
                    await asyncio.sleep(0.1)
            assert await scores_published(kafka_settings, erased) == 1, "only the score from before the erasure"
            assert await audit_rows(audit, erased) == 0
    finally:
        await audit.stop()


def skipped_erased() -> float:
    return REGISTRY.get_sample_value("shortlist_scores_skipped_total", {"reason": "erased"}) or 0.0


async def scores_published(settings: KafkaSettings, key: str) -> int:
    """How many CvScored records on the topic carry ``key``, read up to its current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(CV_SCORED, p) for p in consumer.partitions_for_topic(CV_SCORED) or ()]
        if not partitions:
            partitions = [TopicPartition(CV_SCORED, p) for p in range(settings.kafka_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        count = 0
        async with asyncio.timeout(60):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for raws in (await consumer.getmany(timeout_ms=500)).values():
                    count += sum(1 for raw in raws if raw.key is not None and raw.key.decode() == key)
        return count
    finally:
        await consumer.stop()
