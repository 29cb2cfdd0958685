"""The status read model on a real SQLite database: forward-only status, idempotency, failures."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf.message import Message

from shortlist.ingest.handlers import IngestHandlers
from shortlist.ingest.store import Application, Store
from shortlist.runtime.events import new_envelope
from shortlist.runtime.records import Record
from shortlist.runtime.topics import CV_EMBEDDED, CV_INGESTED, CV_SCORED, CV_SUBMITTED, NOTIFY_DELIVERED, dlt
from shortlist.v1 import common_pb2, cv_pb2, notify_pb2, score_pb2


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.for_settings(None, tmp_path / "ingest.db")
    await store.create()
    yield store
    await store.close()


@pytest.fixture
def handlers(store: Store) -> IngestHandlers:
    return IngestHandlers(store, ingestor=None)  # type: ignore[arg-type]  # the read model never ingests


def record(topic: str, message: Message, key: str, event_id: str | None = None, **headers: str) -> Record:
    envelope = new_envelope(message, source="/tests", event_id=event_id)
    return Record(topic, 0, 0, key, dict(headers), envelope, message)


def scored(app_id: str, score: float = 72.5) -> score_pb2.CvScored:
    requirement = common_pb2.Requirement(id="j-r1", text="Python", kind=common_pb2.REQUIREMENT_KIND_MUST, weight=1)
    return score_pb2.CvScored(
        application_id=app_id,
        job_id="j",
        job_version=1,
        score=score,
        recommendation=score_pb2.RECOMMENDATION_ADVANCE,
        scorer="rubric",
        flags=["hidden_text"],
        requirements=[
            score_pb2.RequirementScore(
                requirement=requirement,
                score=90,
                verdict=score_pb2.VERDICT_MET,
                reason="named in experience",
                quotes=[score_pb2.Quote(text="Python services")],
            )
        ],
    )


async def test_status_moves_forward_only_and_events_apply_once(store: Store, handlers: IngestHandlers) -> None:
    app_id = str(uuid.uuid4())
    await handlers.on_ingested(record(CV_INGESTED, cv_pb2.CvIngested(application_id=app_id, job_id="j"), app_id))
    score_record = record(CV_SCORED, scored(app_id), app_id)
    await handlers.on_scored(score_record)
    await handlers.on_scored(score_record)
    late = record(CV_EMBEDDED, cv_pb2.CvEmbedded(application_id=app_id, job_id="j", job_version=1), app_id)
    await handlers.on_embedded(late)

    row = await store.get_application(app_id)
    assert row is not None
    assert row.status == "scored"
    assert row.embedded_at is not None and row.scored_at is not None
    assert row.score_value == 72.5 and row.recommendation == "advance"
    assert row.score is not None
    assert row.score["requirements"][0] == {
        "id": "j-r1",
        "text": "Python",
        "kind": "must",
        "weight": 1.0,
        "score": 90.0,
        "verdict": "met",
        "reason": "named in experience",
        "quotes": ["Python services"],
    }

    # A second CvScored with the same ce_id changes nothing.
    again = record(CV_SCORED, scored(app_id, score=10), app_id, event_id=score_record.envelope.id)
    await handlers.on_scored(again)
    row = await store.get_application(app_id)
    assert row is not None and row.score_value == 72.5

    delivered = notify_pb2.DeliveryAttempted(application_id=app_id, job_id="j", outcome="delivered")
    await handlers.on_delivered(record(NOTIFY_DELIVERED, delivered, app_id))
    row = await store.get_application(app_id)
    assert row is not None and row.status == "notified"


async def test_dead_letter_fails_the_application_until_a_later_step_succeeds(
    store: Store, handlers: IngestHandlers
) -> None:
    app_id = str(uuid.uuid4())
    ingested = cv_pb2.CvIngested(application_id=app_id, job_id="j")
    await handlers.on_ingested(record(CV_INGESTED, ingested, app_id))
    dead = record(
        dlt(CV_INGESTED),
        ingested,
        app_id,
        **{
            "dlt-original-topic": CV_INGESTED,
            "dlt-exception-type": "embedding_failed",
            "dlt-exception-message": "gave up after 4 tries",
        },
    )
    await handlers.on_dead_letter(dead)
    row = await store.get_application(app_id)
    assert row is not None
    assert (row.status, row.failure_code, row.failure_step) == ("failed", "embedding_failed", "embed")
    assert row.failure_message == "gave up after 4 tries"

    # Replayed from the DLT, the step succeeded after all.
    await handlers.on_embedded(record(CV_EMBEDDED, cv_pb2.CvEmbedded(application_id=app_id, job_id="j"), app_id))
    row = await store.get_application(app_id)
    assert row is not None and row.status == "embedded"

    # A late dead letter of a step already passed does not undo progress.
    await handlers.on_dead_letter(record(dlt(CV_INGESTED), ingested, app_id, **{"dlt-exception-type": "x"}))
    row = await store.get_application(app_id)
    assert row is not None and row.status == "embedded"


async def test_dead_lettered_submission_creates_a_failed_application(store: Store, handlers: IngestHandlers) -> None:
    submitted = cv_pb2.CvSubmitted(job_id="missing-job", candidate_name="A. Person", external_id="ats-7", text="x")
    dead = record(dlt(CV_SUBMITTED), submitted, key="ats-app-7", **{"dlt-exception-type": "job_not_found"})
    await handlers.on_dead_letter(dead)
    row = await store.get_application("ats-app-7")
    assert row is not None
    assert (row.status, row.failure_code, row.failure_step, row.external_id) == (
        "failed",
        "job_not_found",
        "ingest",
        "ats-7",
    )
    assert row.received_at is not None and row.received_at <= datetime.now(UTC)


@pytest.mark.parametrize(("outcome", "status"), [("no_subscribers", "notified"), ("failed", "scored")])
async def test_notified_means_delivered_or_nobody_to_tell(
    store: Store, handlers: IngestHandlers, outcome: str, status: str
) -> None:
    app_id = str(uuid.uuid4())
    await handlers.on_scored(record(CV_SCORED, scored(app_id), app_id))
    attempt = notify_pb2.DeliveryAttempted(application_id=app_id, job_id="j", outcome=outcome)
    await handlers.on_delivered(record(NOTIFY_DELIVERED, attempt, app_id))
    row = await store.get_application(app_id)
    assert row is not None and row.status == status


async def test_own_cv_ingested_repairs_a_missed_step_and_leaves_a_later_one(
    store: Store, handlers: IngestHandlers
) -> None:
    behind, ahead = str(uuid.uuid4()), str(uuid.uuid4())
    for app_id in (behind, ahead):
        await store.add(Application(id=app_id, job_id="j", candidate_id="c", progress=0))
        async with store.application_update(app_id) as update:
            assert update is not None and update[1] is not None
            update[1].reach("received", datetime.now(UTC))
    await handlers.on_scored(record(CV_SCORED, scored(ahead), ahead))

    for app_id in (behind, ahead):
        await handlers.on_ingested(record(CV_INGESTED, cv_pb2.CvIngested(application_id=app_id, job_id="j"), app_id))

    repaired = await store.get_application(behind)
    assert repaired is not None and repaired.status == "ingested" and repaired.ingested_at is not None
    later = await store.get_application(ahead)
    assert later is not None and later.status == "scored" and later.score_value == 72.5
