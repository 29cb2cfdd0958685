"""The score service in process against the session broker: cv.embedded.v1 in, cv.scored.v1 out."""

import asyncio
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record, decode_record
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_EMBEDDED, CV_SCORED, dlt
from shortlist.score.app import build
from shortlist.score.config import Settings
from shortlist.v1 import score_pb2
from tests.score.factory import STRONG_CV, make_embedded


async def read_until(settings: KafkaSettings, topic: str, key: str) -> Record:
    """The first record with ``key`` on ``topic``, reading every partition from the beginning."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async with asyncio.timeout(60):
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for raws in batches.values():
                    for raw in raws:
                        if raw.key is not None and raw.key.decode() == key:
                            return decode_record(raw)
    finally:
        await consumer.stop()


async def test_an_embedded_cv_is_scored_and_published(
    kafka_settings: KafkaSettings, producer: EventProducer, unique: str, tmp_path: Path
) -> None:
    application_id = f"app-{unique}"
    invalid = make_embedded(STRONG_CV, application_id="")
    await producer.publish(invalid, key=f"invalid-{unique}")
    sent = await producer.publish(make_embedded(STRONG_CV, application_id=application_id), key=application_id)

    settings = Settings(**kafka_settings.model_dump(), state_dir=tmp_path / "state")
    service, app = build(settings)
    async with service.running():
        scored = await read_until(kafka_settings, CV_SCORED, application_id)
        dead = await read_until(kafka_settings, dlt(CV_EMBEDDED), f"invalid-{unique}")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://score") as client:
            assert (await client.get("/readyz")).json() == {"status": "ready"}
            metrics = (await client.get("/metrics")).text

    event = scored.message
    assert isinstance(event, score_pb2.CvScored)
    assert scored.envelope.type == "shortlist.cv.scored.v1"
    assert scored.envelope.id != sent.id
    assert event.application_id == application_id and event.job_id == "job-1"
    assert event.recommendation == score_pb2.RECOMMENDATION_ADVANCE and event.score > 70
    assert event.scorer == "rubric" and event.prompt_version == "rubric-2" and len(event.input_hash) == 64
    assert [r.verdict for r in event.requirements] == [score_pb2.VERDICT_MET] * 4
    assert event.submitted_at.seconds > 0 and event.scored_at.seconds > 0

    assert dead.headers["dlt-exception-type"] == "invalid_event"
    assert dead.headers["dlt-original-topic"] == CV_EMBEDDED

    assert 'shortlist_scores_total{recommendation="advance",scorer="rubric"}' in metrics
    assert 'shortlist_end_to_end_seconds_count{stage="scored"}' in metrics
