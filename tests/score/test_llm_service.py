"""The score service with the LLM scorer on the session broker, against a fault-injecting LLM server.

200 CVs while 30% of the LLM calls fail in mixed ways: every CV is scored exactly once, no call breaks the
provider's rate limit, the retries show in the metrics, and every score has its audit record. Then a CV whose
provider stays down goes to the DLT with the reason and is scored once replayed.
"""

import asyncio
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from shortlist.cli.kafka import dlt_replay
from shortlist.runtime.database import database_url
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record, decode_record
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_EMBEDDED, CV_SCORED, dlt
from shortlist.score.app import build
from shortlist.score.audit import AuditStore
from shortlist.score.config import Settings
from shortlist.v1 import score_pb2
from tests.score.factory import REQUIREMENTS, STRONG_CV, WEAK_CV, make_embedded
from tests.score.fake_llm import Bucket, FakeLlm, serving

CVS = 200
REQUESTS_PER_MINUTE = 6000


async def collect(settings: KafkaSettings, topic: str, keys: set[str], settle: float = 2.0) -> list[Record]:
    """Every record on ``topic`` with one of ``keys``, until each key was seen and ``settle`` s passed quietly."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Record] = []
    try:
        async with asyncio.timeout(180):
            quiet_since: float | None = None
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                got = [r for rs in batches.values() for r in rs if r.key is not None and r.key.decode() in keys]
                found.extend(decode_record(r) for r in got)
                now = asyncio.get_running_loop().time()
                if {r.key for r in found} >= keys:
                    quiet_since = now if got or quiet_since is None else quiet_since
                    if now - quiet_since >= settle:
                        return found
    finally:
        await consumer.stop()


def cv(index: int, unique: str) -> tuple[str, object]:
    """A distinct CV (so no answer comes from the cache), strong or weak, against two requirements."""
    application_id = f"llm-{unique}-{index}"
    base = STRONG_CV if index % 2 else WEAK_CV
    chunks = [(f"{text} Reference {index}.", sims) for text, sims in base]
    return application_id, make_embedded(chunks, requirements=REQUIREMENTS[:2], application_id=application_id)


def metric_values(text: str, name: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(rf"{name}\{{(.*)\}} ([0-9.e+]+)$", line)
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


async def publish_all(producer: EventProducer, items: Iterable[tuple[str, object]]) -> None:
    for key, message in items:
        await producer.publish(message, key=key)  # type: ignore[arg-type]


async def test_200_cvs_through_a_failing_provider_are_each_scored_once(
    kafka_settings: KafkaSettings, producer: EventProducer, unique: str, tmp_path: Path
) -> None:
    fake = FakeLlm(retry_after="1", limit=Bucket(per_second=REQUESTS_PER_MINUTE / 60, capacity=100 + 2))
    async with serving(fake) as url:
        settings = Settings(
            **{**kafka_settings.model_dump(), "consumer_batch_size": 256, "consumer_concurrency": 64},
            scorer="llm",
            llm_base_url=url,
            llm_model="fake-model",
            openai_api_key="test-key",
            llm_timeout_seconds=0.5,
            llm_budget_seconds=15.0,
            llm_backoff_initial_seconds=0.02,
            llm_backoff_max_seconds=0.2,
            llm_max_attempts=12,
            llm_record_attempts=2,
            llm_max_concurrency=32,
            llm_requests_per_minute=REQUESTS_PER_MINUTE,
            state_dir=tmp_path / "state",
        )
        service, app = build(settings)
        cvs = [cv(i, unique) for i in range(CVS)]
        async with service.running():
            fake.fail_share = 0.3
            await publish_all(producer, cvs)
            scored = await collect(kafka_settings, CV_SCORED, {key for key, _ in cvs})
            failed_share = sum(fake.injected.values()) / fake.calls
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://score") as client:
                metrics = (await client.get("/metrics")).text

            # The provider goes down: the CV is dead-lettered with the reason ...
            fake.fail_share, fake.faults = 1.0, ("server_error",)
            down_id, down = cv(CVS, unique)
            await producer.publish(down, key=down_id)  # type: ignore[arg-type]
            dead = await collect(kafka_settings, dlt(CV_EMBEDDED), {down_id}, settle=0)
            # ... and scored once it is healthy again and the dead letters are replayed.
            fake.fail_share = 0.0
            replayed = await dlt_replay(kafka_settings.kafka_bootstrap, CV_EMBEDDED, group_id=f"replay-{unique}")
            rescued = await collect(kafka_settings, CV_SCORED, {down_id}, settle=0)

    counts = Counter(r.key for r in scored)
    assert len(counts) == CVS and set(counts.values()) == {1}, "every CV scored, none twice"
    events = {r.key: r.message for r in scored if isinstance(r.message, score_pb2.CvScored)}
    assert len(events) == CVS and all(e.scorer == "llm" and e.prompt_version == "llm-1" for e in events.values())
    assert all(e.usage.calls >= 2 and e.usage.input_tokens > 0 for e in events.values())
    assert 0.2 < failed_share < 0.4
    assert set(fake.injected) == {"rate_limited", "server_error", "hang", "malformed", "truncated", "made_up_quote"}
    assert fake.over_limit == 0, "no call went over the provider's rate limit"
    retries = metric_values(metrics, "shortlist_llm_retries_total")
    for reason in ("rate_limited", "server_error", "timeout", "invalid_json", "truncated_json"):
        assert retries.get(f'model="fake-model",reason="{reason}"', 0) > 0, reason

    assert dead[0].headers["dlt-exception-type"] == "llm_server_error"
    assert replayed.by_topic.get(CV_EMBEDDED, 0) >= 1
    assert rescued[0].message.application_id == down_id  # type: ignore[attr-defined]

    audit = AuditStore(database_url(None, settings.state_path("score.db")))
    try:
        entries = await audit.for_application(cvs[1][0])
    finally:
        await audit.stop()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.scorer, entry.model, entry.prompt_version) == ("llm", "fake-model", "llm-1")
    assert entry.input_hash == events[cvs[1][0]].input_hash and entry.score == events[cvs[1][0]].score
    assert entry.evidence[0]["chunks"] and entry.output["requirements"][0]["verdict"] in ("met", "partial")
