"""The embed service in process against the session broker: search routes and the erasure hook."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shortlist.embed.app import build
from shortlist.embed.config import Settings
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.store import VectorStore
from shortlist.runtime.broker import EmbeddedBroker
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import ensure_topics
from shortlist.v1 import cv_pb2
from tests.embed.conftest import MUST, make_job
from tests.embed.cvs import generated_cvs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@dataclass
class Running:
    client: httpx.AsyncClient
    store: VectorStore
    job_id: str
    cvs: dict[str, cv_pb2.CvIngested]


async def chunks_stored(store: VectorStore, application_id: str, present: bool) -> None:
    """Waits (a minute at most) until the application has chunks stored (``present``) or none."""
    async with asyncio.timeout(60):
        while (await store.count_chunks(application_id) > 0) != present:  # noqa: ASYNC110 (polls the store)
            await asyncio.sleep(0.1)


API_KEY = "embed-test-key"


@pytest.fixture(scope="module")
def own_kafka(kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaSettings]:
    """A broker of this module's own: search spans every CV the service ever consumed, so the topics of the
    session broker, which other modules fill, would change what the searches find."""
    with EmbeddedBroker(log_file=tmp_path_factory.mktemp("search-broker") / "tansu.log") as broker:
        yield kafka_settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})


@pytest.fixture(scope="module")
async def own_producer(own_kafka: KafkaSettings) -> AsyncIterator[EventProducer]:
    await ensure_topics(own_kafka)
    producer = EventProducer(own_kafka, "tests")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture(scope="module")
async def running(
    own_kafka: KafkaSettings,
    own_producer: EventProducer,
    embedder: MiniLmEmbedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Running]:
    kafka_settings, producer = own_kafka, own_producer
    state: Path = tmp_path_factory.mktemp("embed-search")
    settings = Settings(**kafka_settings.model_dump(), state_dir=state, api_keys=f"{API_KEY}, reader:jobs:read")
    service, app = build(settings, embedder=embedder)
    prefix = f"app-{uuid.uuid4().hex[:8]}"
    job_id = f"job-{uuid.uuid4().hex[:8]}"
    cvs = generated_cvs(job_id, prefix)
    async with (
        service.running(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://embed",
            timeout=30,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as client,
    ):
        for _ in range(600):
            if (await client.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("embed never became ready")
        await producer.publish(make_job(job_id, [("Python for backend services", MUST)]), key=job_id)
        for cv in cvs.values():
            await producer.publish(cv, key=cv.application_id)
        for cv in cvs.values():
            await chunks_stored(app.state.store, cv.application_id, present=True)
        yield Running(client, app.state.store, job_id, cvs)


async def test_search_finds_the_cv_with_the_skill_first(running: Running) -> None:
    response = await running.client.post("/v1/search", json={"query": "COBOL mainframe programming"})
    assert response.status_code == 200, response.text
    body = response.json()
    cobol = running.cvs["cobol"]
    assert body["items"][0]["application_id"] == cobol.application_id
    assert len(body["items"]) == 4
    first = body["items"][0]
    assert first["job_id"] == running.job_id and first["candidate_id"] == cobol.candidate_id
    chunk = first["best_chunk"]
    assert "COBOL" in chunk["text"] and chunk["section"] == "skills"
    assert cobol.text[chunk["span"]["start"] : chunk["span"]["end"]] == chunk["text"]
    assert first["score"] == chunk["similarity"] > body["items"][1]["score"]

    limited = await running.client.post(
        "/v1/search", json={"query": "React", "job_id": running.job_id, "section": "skills", "limit": 1}
    )
    assert [i["application_id"] for i in limited.json()["items"]] == [running.cvs["frontend"].application_id]
    elsewhere = await running.client.post("/v1/search", json={"query": "COBOL", "job_id": "job-none"})
    assert elsewhere.json()["items"] == []


async def test_similar_candidates_exclude_the_application_itself(running: Running) -> None:
    platform = running.cvs["platform"].application_id
    response = await running.client.get(f"/v1/applications/{platform}/similar", params={"limit": 2})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items[0]["application_id"] == running.cvs["cobol"].application_id
    assert len(items) == 2 and platform not in {i["application_id"] for i in items}

    missing = await running.client.get("/v1/applications/app-unknown/similar")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "application_not_found"


@pytest.mark.parametrize(
    "body",
    [{}, {"query": "   "}, {"query": "python", "limit": 0}, {"query": "python", "limit": 1000}, {"query": "x", "n": 1}],
)
async def test_invalid_searches_are_refused_with_a_clear_error(running: Running, body: dict[str, object]) -> None:
    response = await running.client.post("/v1/search", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


async def test_an_erased_candidate_has_no_points_left(running: Running, own_producer: EventProducer) -> None:
    cobol = running.cvs["cobol"]
    erased = cv_pb2.CandidateErased(candidate_id=cobol.candidate_id, application_ids=[cobol.application_id])
    erased.erased_at.GetCurrentTime()
    await own_producer.publish(erased, key=cobol.candidate_id)
    await chunks_stored(running.store, cobol.application_id, present=False)

    for cv in running.cvs.values():
        if cv is not cobol:
            assert await running.store.count_chunks(cv.application_id) > 0, "other candidates are kept"
    response = await running.client.post("/v1/search", json={"query": "COBOL mainframe programming"})
    assert cobol.application_id not in {i["application_id"] for i in response.json()["items"]}


async def test_search_needs_a_key_with_the_search_scope(running: Running) -> None:
    body = {"query": "COBOL"}
    anonymous = await running.client.post("/v1/search", json=body, headers={"Authorization": ""})
    reader = await running.client.post("/v1/search", json=body, headers={"Authorization": "Bearer reader"})
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthorized")
    assert (reader.status_code, reader.json()["error"]["code"]) == (403, "forbidden")
