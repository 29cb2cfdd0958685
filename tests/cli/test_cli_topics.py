"""`tail`, `dlt list` and `dlt replay` against the session broker."""

import json
import subprocess
import sys

import pytest

from shortlist.cli import kafka
from shortlist.runtime.events import encode_headers, header_map, new_envelope
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import ensure_topics
from shortlist.v1 import cv_pb2, jobs_pb2

DLT_HEADERS = [
    ("dlt-original-partition", b"2"),
    ("dlt-original-offset", b"17"),
    ("dlt-exception-type", b"invalid_event"),
    ("dlt-exception-message", b"job_id is missing"),
]


def shortlist(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shortlist.cli", "--bootstrap", bootstrap, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
async def topic(kafka_settings: KafkaSettings, unique: str) -> str:
    name = f"clitest.{unique}.v1"
    await ensure_topics(kafka_settings, (name, f"{name}-dlt"))
    return name


async def test_tail_decodes_events_and_reports_undecodable_ones(
    producer: EventProducer, kafka_settings: KafkaSettings, topic: str
) -> None:
    message = cv_pb2.CvIngested(application_id="app-7", job_id="job-1", text="Python and Kafka")
    envelope = new_envelope(message, source="/shortlist/tests")
    await producer.send_raw(topic, b"app-7", message.SerializeToString(), encode_headers(envelope))
    await producer.send_raw(topic, b"app-8", b"\xff\xfe not protobuf", encode_headers(envelope))

    records = [r async for r in kafka.tail(kafka_settings.kafka_bootstrap, topic, max_records=2, idle_timeout=10)]

    by_key = {r["key"]: r for r in records}
    assert by_key["app-7"]["type"] == "shortlist.cv.ingested.v1"
    assert by_key["app-7"]["id"] == envelope.id
    assert by_key["app-7"]["data"] == {"application_id": "app-7", "job_id": "job-1", "text": "Python and Kafka"}
    assert by_key["app-8"]["error"]["code"] == "undecodable"
    assert "data" not in by_key["app-8"]


async def test_tail_command_prints_one_json_object_per_record(
    producer: EventProducer, kafka_settings: KafkaSettings, topic: str
) -> None:
    job = jobs_pb2.JobPosted(job_id="job-9", version=1, title="Backend Engineer")
    await producer.send_raw(topic, b"job-9", job.SerializeToString(), encode_headers(new_envelope(job, "/tests")))

    result = shortlist(kafka_settings.kafka_bootstrap, "tail", topic, "--max", "1")

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["key"] == "job-9"
    assert printed["data"] == {"job_id": "job-9", "version": 1, "title": "Backend Engineer"}


async def test_tail_of_a_missing_topic_is_a_clear_error(kafka_settings: KafkaSettings, unique: str) -> None:
    result = shortlist(kafka_settings.kafka_bootstrap, "tail", f"missing.{unique}.v1", "--max", "1")
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


async def test_dlt_list_and_replay_publish_the_original_record_once(
    producer: EventProducer, kafka_settings: KafkaSettings, topic: str
) -> None:
    bootstrap = kafka_settings.kafka_bootstrap
    job = jobs_pb2.JobPosted(job_id="job-5", version=2, title="Data Engineer")
    envelope = new_envelope(job, source="/shortlist/tests")
    original_headers = encode_headers(envelope)
    headers = [*original_headers, ("dlt-original-topic", topic.encode()), *DLT_HEADERS]
    await producer.send_raw(f"{topic}-dlt", b"job-5", job.SerializeToString(), headers)

    listed = shortlist(bootstrap, "dlt", "list", topic, "--json")
    assert listed.returncode == 0, listed.stderr
    (dead,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert dead["key"] == "job-5"
    assert dead["dlt"]["dlt-exception-type"] == "invalid_event"
    assert dead["dlt"]["dlt-exception-message"] == "job_id is missing"
    assert dead["data"]["title"] == "Data Engineer"

    table = shortlist(bootstrap, "dlt", "list", topic)
    assert "invalid_event" in table.stdout and "job_id is missing" in table.stdout

    replayed = shortlist(bootstrap, "dlt", "replay", topic)
    assert replayed.returncode == 0, replayed.stderr
    assert f"replayed 1 record(s) to {topic}" in replayed.stderr

    records = [r async for r in kafka.tail(bootstrap, topic, max_records=1, idle_timeout=10)]
    assert len(records) == 1
    assert records[0]["key"] == "job-5"
    assert records[0]["id"] == envelope.id
    assert records[0]["data"] == {"job_id": "job-5", "version": 2, "title": "Data Engineer"}
    assert "dlt" not in records[0]

    again = await kafka.dlt_replay(bootstrap, topic)
    assert again.replayed == 0
    everything = await kafka.dlt_replay(bootstrap, topic, from_beginning=True)
    assert everything.by_topic == {topic: 1}


async def test_replayed_record_keeps_headers_but_not_the_dlt_ones(
    producer: EventProducer, kafka_settings: KafkaSettings, topic: str
) -> None:
    bootstrap = kafka_settings.kafka_bootstrap
    headers = [("ce_id", b"evt-1"), ("traceparent", b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"), *DLT_HEADERS]
    await producer.send_raw(f"{topic}-dlt", b"k", b"raw bytes", headers)

    result = await kafka.dlt_replay(bootstrap, f"{topic}-dlt")

    assert result.by_topic == {topic: 1}
    reader = await kafka.open_reader(bootstrap, topic)
    try:
        await reader.consumer.seek_to_beginning(*reader.partitions)
        (record,) = [r async for r in kafka.read_to_end(reader.consumer, reader.partitions)]
    finally:
        await reader.consumer.stop()
    assert record.value == b"raw bytes" and record.key == b"k"
    assert header_map(record.headers) == {"ce_id": "evt-1", "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
