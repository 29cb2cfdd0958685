"""Topic names of the event contract and their creation."""

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shortlist.runtime.settings import KafkaSettings

log = logging.getLogger(__name__)

CV_SUBMITTED = "cv.submitted.v1"
CV_INGESTED = "cv.ingested.v1"
CV_EMBEDDED = "cv.embedded.v1"
CV_SCORED = "cv.scored.v1"
JOBS_POSTED = "jobs.posted.v1"
NOTIFY_DELIVERED = "notify.delivered.v1"
CANDIDATES_ERASED = "candidates.erased.v1"

MAIN_TOPICS = (CV_SUBMITTED, CV_INGESTED, CV_EMBEDDED, CV_SCORED, JOBS_POSTED, NOTIFY_DELIVERED, CANDIDATES_ERASED)


def dlt(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}-dlt"


ALL_TOPICS = MAIN_TOPICS + tuple(dlt(t) for t in MAIN_TOPICS)


async def ensure_topics(settings: KafkaSettings, names: tuple[str, ...] = ALL_TOPICS) -> None:
    """Create the topics that do not exist yet, with the configured partition count."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=settings.kafka_request_timeout_ms
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if not missing:
            return
        topics = [
            NewTopic(n, num_partitions=settings.kafka_partitions, replication_factor=settings.kafka_replication_factor)
            for n in missing
        ]
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(topics)
        log.info("created topics %s", ", ".join(missing))
    finally:
        await admin.close()
