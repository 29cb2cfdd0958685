"""examples/consume_scores.py against the embedded broker: every score once, a replayed record skipped by ce_id."""

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.v1 import score_pb2

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "consume_scores.py"
pytestmark = pytest.mark.timeout(120)


async def test_the_example_consumer_handles_each_score_once(
    kafka_settings: KafkaSettings, producer: EventProducer, tmp_path: Path, unique: str
) -> None:
    job_id = f"job-{unique}"
    application_id = str(uuid.uuid4())  # one key: one partition, so the replay arrives between the others
    scores = [
        score_pb2.CvScored(application_id=application_id, job_id=job_id, score=s, recommendation=r)
        for s, r in ((81.0, score_pb2.RECOMMENDATION_ADVANCE), (55.5, score_pb2.RECOMMENDATION_REVIEW), (20.0, 3))
    ]
    first = await producer.publish(scores[0], key=application_id)
    second = await producer.publish(scores[1], key=application_id)
    await producer.publish(scores[0], key=application_id, event_id=first.id)  # a replay: same ce_id
    third = await producer.publish(scores[2], key=application_id)

    command = [sys.executable, str(EXAMPLE), "--bootstrap", kafka_settings.kafka_bootstrap]
    command += ["--group", f"example-{unique}", "--job", job_id, "--max", "3", "--state", str(tmp_path / "seen.db")]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(x["ce_id"], x["score"], x["recommendation"]) for x in lines] == [
        (first.id, 81.0, "advance"),
        (second.id, 55.5, "review"),
        (third.id, 20.0, "reject"),
    ]
    assert "3 scores handled, 1 duplicates skipped" in done.stderr
