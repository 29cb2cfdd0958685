"""The delivery log on SQLite and on PostgreSQL: a replayed event is delivered to a subscription only once."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shortlist.notify.store import Delivery, NewSubscription, Store
from shortlist.runtime.database import database_url
from tests.conftest import throwaway_postgres


async def _postgres_store() -> AsyncIterator[Store]:
    async with throwaway_postgres("notify_test") as url:
        store = Store(database_url(url, Path("unused")))
        try:
            yield store
        finally:
            await store.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        sqlite = Store(database_url(None, tmp_path / "notify.db"))
        await sqlite.start()
        yield sqlite
        await sqlite.stop()
        return
    async for postgres in _postgres_store():
        await postgres.start()
        yield postgres


def delivery(subscription_id: str, event_id: str, outcome: str, attempt: int = 1) -> Delivery:
    return Delivery(
        delivery_id=str(uuid.uuid4()),
        subscription_id=subscription_id,
        event_id=event_id,
        application_id="app-1",
        attempt=attempt,
        outcome=outcome,
        status_code=200 if outcome == "delivered" else 503,
        error=None if outcome == "delivered" else "http_503",
        at=datetime.now(UTC),
    )


async def test_subscriptions_filter_by_job_and_score_and_can_be_removed(store: Store) -> None:
    secret = "whsec_" + "A" * 32
    everything = await store.add_subscription(NewSubscription("https://a.example/hook", secret))
    one_job = await store.add_subscription(NewSubscription("https://b.example/hook", secret, "job-1", 70.0))
    await store.add_subscription(NewSubscription("https://c.example/hook", secret, "job-2"))

    for_job_1 = await store.subscriptions("job-1")
    assert [s.id for s in for_job_1] == [everything.id, one_job.id]
    assert [s.id for s in for_job_1 if s.matches("job-1", 69.9)] == [everything.id]
    assert [s.id for s in for_job_1 if s.matches("job-1", 70.0)] == [everything.id, one_job.id]

    assert await store.deactivate(one_job.id)
    assert not await store.deactivate(one_job.id)
    assert await store.subscription(one_job.id) is None
    assert [s.id for s in await store.subscriptions("job-1")] == [everything.id]


async def test_an_event_is_logged_as_delivered_once_per_subscription(store: Store) -> None:
    first = await store.record(delivery("sub-1", "event-1", "gave_up", attempt=4))
    assert await store.record(delivery("sub-1", "event-1", "gave_up", attempt=4)) is not first
    delivered = await store.record(delivery("sub-1", "event-1", "delivered"))
    again = await store.record(delivery("sub-1", "event-1", "delivered"))
    assert again.delivery_id == delivered.delivery_id
    other = await store.record(delivery("sub-2", "event-1", "delivered"))
    assert other.delivery_id != delivered.delivery_id

    found = await store.delivered("sub-1", "event-1")
    assert found is not None and found.delivery_id == delivered.delivery_id
    assert [d.outcome for d in await store.deliveries(subscription_id="sub-1")].count("delivered") == 1
    assert len(await store.deliveries(application_id="app-1")) == 4
