"""Handler decisions that need neither the broker nor the model."""

from pathlib import Path

import pytest

from shortlist.embed.config import Settings
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.handlers import EmbedHandlers
from shortlist.embed.store import VectorStore
from shortlist.runtime.errors import PermanentError, TransientError
from shortlist.runtime.events import new_envelope
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.runtime.topics import CV_INGESTED, JOBS_POSTED
from shortlist.v1 import cv_pb2, jobs_pb2
from tests.embed.conftest import make_cv


def record(topic: str, message: cv_pb2.CvIngested | jobs_pb2.JobPosted) -> Record:
    envelope = new_envelope(message, source="/tests")
    return Record(topic, 0, 0, None, {}, envelope, message)


async def test_unknown_jobs_are_transient_and_bad_input_is_permanent(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, unknown_job_max_attempts=7)
    embedder = MiniLmEmbedder()  # never loaded: no case here reaches the model
    store = VectorStore(embedder.dimension, path=tmp_path / "qdrant")
    await store.start()
    handlers = EmbedHandlers(settings, embedder, store, EventProducer(settings, "tests"))
    try:
        with pytest.raises(TransientError) as unknown:
            await handlers.on_cv_ingested(record(CV_INGESTED, make_cv("app-1", "job-missing")))
        assert unknown.value.code == "unknown_job" and unknown.value.max_attempts == 7
        assert "Grace" not in unknown.value.message

        with pytest.raises(PermanentError) as empty:
            await handlers.on_cv_ingested(record(CV_INGESTED, cv_pb2.CvIngested(application_id="a", job_id="j")))
        assert empty.value.code == "empty_text"

        with pytest.raises(PermanentError) as no_requirements:
            await handlers.on_job_posted(record(JOBS_POSTED, jobs_pb2.JobPosted(job_id="j", version=1, title="T")))
        assert no_requirements.value.code == "no_requirements"
        assert not embedder.loaded
    finally:
        await store.close()
