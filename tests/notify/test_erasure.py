"""Erasing a candidate in notify: the delivery log forgets their applications and a late score is not delivered."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from shortlist.notify.config import Settings
from shortlist.notify.store import Store
from shortlist.runtime.database import database_url
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.v1 import cv_pb2
from tests.notify.conftest import Receiver, notify_api
from tests.notify.test_service import scored, subscribe
from tests.notify.test_store import pending

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def api(kafka_settings: KafkaSettings, topics_ready: None, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        **{**kafka_settings.model_dump(), "state_dir": tmp_path / "state"},
        webhook_allowed_hosts="127.0.0.1",
        api_keys="test-key",
    )
    async with notify_api(settings) as client:
        yield client


async def deliveries(api: httpx.AsyncClient, application_id: str) -> list[dict[str, object]]:
    response = await api.get("/v1/deliveries", params={"application_id": application_id})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def erased_scores() -> float:
    return REGISTRY.get_sample_value("shortlist_webhook_deliveries_total", {"outcome": "erased"}) or 0.0


async def test_an_erased_candidates_deliveries_are_deleted_and_a_late_score_is_not_delivered(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, unique: str
) -> None:
    job_id, path = f"job-{unique}", f"/erasure-{unique}"
    await subscribe(api, receiver.url(path), job_id=job_id)
    gone, kept = scored(job_id), scored(job_id)
    for event in (gone, kept):
        await producer.publish(event, key=event.application_id)
    await receiver.wait_for(path, 2)
    async with asyncio.timeout(60):  # a hang guard only
        while not (await deliveries(api, gone.application_id) and await deliveries(api, kept.application_id)):  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    erasure = cv_pb2.CandidateErased(candidate_id=f"cand-{unique}", application_ids=[gone.application_id])
    erasure.erased_at.FromDatetime(NOW)
    for _ in range(2):  # delivered twice: the second changes nothing and fails nothing
        await producer.publish(erasure, key=erasure.candidate_id)
    async with asyncio.timeout(60):
        while await deliveries(api, gone.application_id):  # noqa: ASYNC110 (polls the delivery log)
            await asyncio.sleep(0.1)
    assert len(await deliveries(api, kept.application_id)) == 1

    before = erased_scores()
    late, later = scored(job_id), scored(job_id)
    late.application_id = gone.application_id
    await producer.publish(late, key=late.application_id)
    await producer.publish(later, key=later.application_id)
    await receiver.wait_for(path, 3)
    async with asyncio.timeout(60):
        while erased_scores() == before:  # noqa: ASYNC110 (polls a metric)
            await asyncio.sleep(0.1)
    bodies = [r.body for r in receiver.at(path)]
    assert len(bodies) == 3 and sum(gone.application_id.encode() in b for b in bodies) == 1
    assert await deliveries(api, gone.application_id) == []


async def test_the_store_erases_idempotently_and_only_the_named_applications(tmp_path: Path) -> None:
    store = Store(database_url(None, tmp_path / "notify.db"))
    await store.start()
    try:
        await store.enqueue([pending("s1", f"e{n}", a) for n, a in enumerate(("app-a", "app-a", "app-b"))])
        assert await store.erase(["app-a"], NOW) == 2
        assert await store.erase(["app-a"], NOW) == 0
        assert await store.enqueue([pending("s1", "e9", "app-a")]) is None  # a late score queues nothing
        assert await store.is_erased("app-a") and not await store.is_erased("app-b")
        assert [d.application_id for d in await store.deliveries()] == ["app-b"]
    finally:
        await store.stop()
