from aiokafka.admin import AIOKafkaAdminClient

from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import ALL_TOPICS, CV_SUBMITTED, dlt, ensure_topics


async def partition_counts(settings: KafkaSettings, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}


async def test_ensure_topics_creates_missing_topics_with_the_configured_partition_count(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    names = (f"test.{unique}.created.v1", dlt(f"test.{unique}.created.v1"))
    three = kafka_settings.model_copy(update={"kafka_partitions": 3})
    await ensure_topics(three, names)
    assert await partition_counts(kafka_settings, list(names)) == dict.fromkeys(names, 3)

    # Running it again (every service does at start) neither fails nor changes existing topics.
    await ensure_topics(kafka_settings.model_copy(update={"kafka_partitions": 2}), names)
    assert await partition_counts(kafka_settings, list(names)) == dict.fromkeys(names, 3)


async def test_the_contract_topics_and_their_dead_letter_topics_exist(
    kafka_settings: KafkaSettings, topics_ready: None
) -> None:
    counts = await partition_counts(kafka_settings, list(ALL_TOPICS))
    assert set(counts) == set(ALL_TOPICS)
    assert counts[CV_SUBMITTED] == counts[dlt(CV_SUBMITTED)] == kafka_settings.kafka_partitions
