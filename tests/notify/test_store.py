"""The delivery store on SQLite and on PostgreSQL: one delivery per (subscription, score), claimed with a lease,
retried on schedule, and an older database migrated with its delivery log."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from shortlist.notify.migrations import migrate
from shortlist.notify.models import DELIVERED, FAILED, PENDING, Delivery, Subscription
from shortlist.notify.store import NewSubscription, Outcome, Store, delivery_id
from shortlist.runtime.database import database_url
from tests.conftest import throwaway_postgres

SECRET = "whsec_" + "A" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield database_url(None, tmp_path / "notify.db")
        return
    async with throwaway_postgres("notify_test") as postgres:
        yield database_url(postgres, Path("unused"))


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    opened = Store(url)
    await opened.start()
    yield opened
    await opened.stop()


def pending(subscription_id: str, event_id: str, application_id: str = "app-1") -> Delivery:
    now = datetime.now(UTC)
    return Delivery(
        delivery_id=delivery_id(subscription_id, event_id),
        subscription_id=subscription_id,
        event_id=event_id,
        application_id=application_id,
        job_id="job-1",
        state=PENDING,
        attempts=0,
        tries=0,
        status_code=None,
        error=None,
        body='{"type":"cv.scored"}',
        submitted_at=None,
        created_at=now,
        next_at=now,
        lease_until=None,
        finished_at=None,
    )


async def test_subscriptions_filter_by_job_score_and_recommendation(store: Store) -> None:
    everything = await store.add_subscription(NewSubscription("https://a.example/hook", SECRET))
    one_job = await store.add_subscription(NewSubscription("https://b.example/hook", SECRET, "job-1", 70.0))
    advance = await store.add_subscription(
        NewSubscription("https://c.example/hook", SECRET, "job-1", recommendations=("advance",))
    )
    await store.add_subscription(NewSubscription("https://d.example/hook", SECRET, "job-2"))

    for_job_1 = await store.subscriptions("job-1")
    assert [s.id for s in for_job_1] == [everything.id, one_job.id, advance.id]
    assert [s.id for s in for_job_1 if s.matches("job-1", 69.9, "review")] == [everything.id]
    assert [s.id for s in for_job_1 if s.matches("job-1", 70.0, "advance")] == [everything.id, one_job.id, advance.id]

    assert await store.deactivate(one_job.id)
    assert not await store.deactivate(one_job.id)
    assert await store.subscription(one_job.id) is None
    assert [s.id for s in await store.subscriptions("job-1")] == [everything.id, advance.id]


async def test_a_score_is_queued_once_per_subscription_and_claimed_by_one_worker_at_a_time(store: Store) -> None:
    sub = await store.add_subscription(NewSubscription("https://a.example/hook", SECRET))
    assert await store.enqueue([pending(sub.id, "e1"), pending(sub.id, "e2")]) == []
    [known] = await store.enqueue([pending(sub.id, "e1")])
    assert known.state == PENDING

    claimed = await store.claim(10, lease_seconds=60)
    assert sorted(d.event_id for d, _ in claimed) == ["e1", "e2"]
    assert await store.claim(10, lease_seconds=60) == []  # leased
    due = await store.next_due()
    assert due is not None and due > datetime.now(UTC) + timedelta(seconds=50)

    first, second = (d for d, _ in sorted(claimed, key=lambda c: c[0].event_id))
    now = datetime.now(UTC)
    retry_at = now + timedelta(seconds=0.3)
    await store.finish(
        [
            Outcome(first, DELIVERED, now, 200, None, 0.01),
            Outcome(second, PENDING, now, 503, "http_503", 0.02, next_at=retry_at),
        ]
    )
    assert await store.claim(10, lease_seconds=60) == []
    due = await store.next_due()
    assert due is not None and abs((due - retry_at).total_seconds()) < 0.01
    await asyncio.sleep(0.35)
    [(again, _)] = await store.claim(10, lease_seconds=60)
    assert (again.event_id, again.attempts, again.tries) == ("e2", 1, 1)
    await store.finish([Outcome(again, FAILED, datetime.now(UTC), None, "timeout", 5.0)])

    found = await store.delivery(again.delivery_id)
    assert found is not None
    delivery, attempts = found
    assert (delivery.state, delivery.attempts, delivery.error) == (FAILED, 2, "timeout")
    assert [(a.number, a.status_code, a.error) for a in attempts] == [(1, 503, "http_503"), (2, None, "timeout")]
    flagged = await store.subscription(sub.id)
    assert flagged is not None and flagged.failing_since is not None
    assert await store.next_due() is None

    assert await store.redeliver(again.delivery_id) is not None
    [(redelivered, _)] = await store.claim(10, lease_seconds=60)
    assert (redelivered.delivery_id, redelivered.tries, redelivered.attempts) == (again.delivery_id, 0, 2)


async def test_paused_subscriptions_are_not_claimed_until_resumed(store: Store) -> None:
    sub = await store.add_subscription(NewSubscription("https://a.example/hook", SECRET))
    await store.update_subscription(sub.id, {"paused": True})
    await store.enqueue([pending(sub.id, "e1")])
    assert await store.claim(10, lease_seconds=60) == []
    assert await store.next_due() is None
    await store.update_subscription(sub.id, {"paused": False})
    assert [d.event_id for d, _ in await store.claim(10, lease_seconds=60)] == ["e1"]


async def test_an_older_database_is_migrated_with_its_delivery_log(url: str) -> None:
    old = Store(url)
    async with old.engine.begin() as connection:
        assert await connection.run_sync(migrate, 1) == [1]
        await connection.execute(
            text(
                "INSERT INTO subscriptions (id, url, job_id, min_score, secret, created_at, active) "
                "VALUES ('s1', 'https://a.example/hook', NULL, NULL, :secret, :at, TRUE)"
            ),
            {"secret": SECRET, "at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        for n, (event, outcome, minute) in enumerate(
            [("e1", "gave_up", 1), ("e1", "delivered", 2), ("e2", "gave_up", 3), ("e2", "gave_up", 4)]
        ):
            await connection.execute(
                text(
                    "INSERT INTO deliveries (delivery_id, subscription_id, event_id, application_id, attempt, outcome,"
                    " status_code, error, at) VALUES (:id, 's1', :event, 'app-1', :n, :outcome, 500, NULL, :at)"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "event": event,
                    "n": n + 1,
                    "outcome": outcome,
                    "at": datetime(2026, 1, 1, 0, minute, tzinfo=UTC),
                },
            )
    await old.stop()

    store = Store(url)
    await store.start()
    try:
        subscription = await store.subscription("s1")
        assert subscription is not None and not subscription.paused and subscription.failing_since is None
        log = {d.event_id: d for d in await store.deliveries(subscription_id="s1")}
        assert {e: (d.state, d.attempts) for e, d in log.items()} == {"e1": (DELIVERED, 2), "e2": (FAILED, 4)}
        assert await store.claim(10, lease_seconds=60) == []
        assert await store.redeliver(log["e1"].delivery_id) is None  # no stored payload to send again
    finally:
        await store.stop()


async def test_a_subscription_is_matched_at_once_even_when_a_reload_was_reading_before_it_was_added(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_before_the_change = store.subscriptions
    read_done, release = asyncio.Event(), asyncio.Event()

    async def slow_read(job_id: str | None = None) -> list[Subscription]:
        rows = await read_before_the_change(job_id)
        if not release.is_set():
            read_done.set()
            await release.wait()
        return rows

    monkeypatch.setattr(store, "subscriptions", slow_read)
    reload = asyncio.create_task(store.matching("job-1"))
    await read_done.wait()
    added = await store.add_subscription(NewSubscription("https://a.example/hook", SECRET, "job-1"))
    release.set()
    await reload

    assert [s.id for s in await store.matching("job-1")] == [added.id]
