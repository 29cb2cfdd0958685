"""Subscriptions, pending and finished deliveries with their attempts, erased applications.

SQLAlchemy async: SQLite by default, PostgreSQL by URL. The delivery worker claims due deliveries with a
lease, so a process that dies mid-send leaves them to be claimed again once the lease runs out.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from shortlist.notify.migrations import migrate
from shortlist.notify.models import (
    DELIVERED,
    FAILED,
    PENDING,
    SKIPPED,
    Attempt,
    Delivery,
    ErasedApplication,
    Subscription,
    utc,
)
from shortlist.runtime.database import AsyncSession, create_engine, session_factory

_PAIR_NAMESPACE = uuid.UUID("0f7b6a52-95f4-4d1e-9a57-0b3c1e6c2d41")
_DELIVERIES = cast(Table, Delivery.__table__)
_ATTEMPTS = cast(Table, Attempt.__table__)
_CLAIMED_COLUMNS = [
    _DELIVERIES.c[name]
    for name in (
        "delivery_id",
        "subscription_id",
        "event_id",
        "application_id",
        "job_id",
        "attempts",
        "tries",
        "status_code",
        "error",
        "body",
        "submitted_at",
        "created_at",
    )
]
_FINISH = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.delivery_id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        attempts=bindparam("b_attempts"),
        tries=bindparam("b_tries"),
        status_code=bindparam("b_status_code"),
        error=bindparam("b_error"),
        next_at=bindparam("b_next_at"),
        lease_until=None,
        finished_at=bindparam("b_finished_at"),
    )
)


def delivery_id(subscription_id: str, event_id: str) -> str:
    """The same id for the same (subscription, score), so a replayed score finds its delivery."""
    return str(uuid.uuid5(_PAIR_NAMESPACE, f"{subscription_id}/{event_id}"))


@dataclass(frozen=True)
class NewSubscription:
    url: str
    secret: str
    job_id: str | None = None
    min_score: float | None = None
    recommendations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Queued:
    """A new pending delivery as the handler makes it (every column; cheaper to build than an ORM instance)."""

    delivery_id: str
    subscription_id: str
    event_id: str
    application_id: str
    job_id: str
    body: str
    submitted_at: datetime | None
    created_at: datetime
    state: str = PENDING
    attempts: int = 0
    tries: int = 0
    status_code: int | None = None
    error: str | None = None
    next_at: datetime | None = None
    lease_until: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class Claimed:
    """A pending delivery leased to this worker: the columns sending and recording it need (plain values, no
    ORM instance, which costs more per row than the rest of a delivery)."""

    delivery_id: str
    subscription_id: str
    event_id: str
    application_id: str
    job_id: str
    attempts: int
    tries: int
    status_code: int | None
    error: str | None
    body: str
    submitted_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What one claimed delivery came to: an attempt (unless ``attempted`` is False) and its next state."""

    delivery: Claimed | Delivery
    state: str
    at: datetime
    status_code: int | None = None
    error: str | None = None
    latency_seconds: float = 0.0
    next_at: datetime | None = None
    attempted: bool = True


class Store:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self._sessions = session_factory(self.engine)
        self._postgres = self.engine.dialect.name == "postgresql"
        self._snapshot: tuple[float, list[Subscription]] | None = None
        self._subscription_changes = 0
        self._write_lock = None if self._postgres else asyncio.Lock()
        self._snapshot_lock = asyncio.Lock()
        self._enqueued: list[tuple[Sequence[Delivery | Queued], asyncio.Future[list[Delivery] | None]]] = []
        self._enqueuing: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction. On SQLite one at a time per process: waiting here is cheaper than SQLite's busy
        handler, which sleeps in steps while another connection holds the write lock."""
        async with self._write_lock or contextlib.nullcontext(), self._sessions() as session, session.begin():
            yield session

    async def start(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(migrate)

    async def stop(self) -> None:
        await self.engine.dispose()

    # Subscriptions

    @contextlib.asynccontextmanager
    async def _change_subscriptions(self) -> AsyncIterator[AsyncSession]:
        """A write transaction on subscriptions. Once it ends the snapshot is dropped, and a reload that read before
        the commit is not kept (``matching`` compares the count of changes before and after its read)."""
        try:
            async with self._write() as session:
                yield session
        finally:
            self._subscription_changes += 1
            self._snapshot = None

    async def add_subscription(self, new: NewSubscription) -> Subscription:
        subscription = Subscription(
            id=str(uuid.uuid4()),
            url=new.url,
            job_id=new.job_id,
            min_score=new.min_score,
            recommendations=",".join(new.recommendations) or None,
            secret=new.secret,
            created_at=datetime.now(UTC),
            active=True,
            paused=False,
        )
        async with self._change_subscriptions() as session:
            session.add(subscription)
        return subscription

    async def subscription(self, subscription_id: str) -> Subscription | None:
        async with self._sessions() as session:
            found = await session.get(Subscription, subscription_id)
            return found if found is not None and found.active else None

    async def subscriptions(self, job_id: str | None = None) -> list[Subscription]:
        query = select(Subscription).where(Subscription.active.is_(True)).order_by(Subscription.created_at)
        if job_id is not None:
            query = query.where((Subscription.job_id == job_id) | Subscription.job_id.is_(None))
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def update_subscription(self, subscription_id: str, changes: dict[str, Any]) -> Subscription | None:
        """Apply column changes; resuming a paused subscription makes its pending deliveries due now."""
        async with self._change_subscriptions() as session:
            found = await session.get(Subscription, subscription_id)
            if found is None or not found.active:
                return None
            resumed = found.paused and changes.get("paused") is False
            for name, value in changes.items():
                setattr(found, name, value)
            if resumed:
                await session.execute(
                    update(Delivery)
                    .where(Delivery.subscription_id == subscription_id, Delivery.state == PENDING)
                    .values(next_at=datetime.now(UTC), tries=0)
                )
            return found

    async def deactivate(self, subscription_id: str) -> bool:
        """Remove a subscription; its pending deliveries are skipped."""
        async with self._change_subscriptions() as session:
            found = await session.get(Subscription, subscription_id)
            if found is None or not found.active:
                return False
            found.active = False
            await session.execute(
                update(Delivery)
                .where(Delivery.subscription_id == subscription_id, Delivery.state == PENDING)
                .values(state=SKIPPED, error="subscription_deleted", next_at=None, finished_at=datetime.now(UTC))
            )
            return True

    # Deliveries

    async def enqueue(self, deliveries: Sequence[Delivery | Queued]) -> list[Delivery] | None:
        """Insert pending deliveries of one score, ignoring pairs already known; returns the rows of the pairs known
        before, or None (inserting nothing) when the application was erased. Scores queued while a write is under
        way are written together in the next transaction, each one checked against erasures in that same
        transaction, so an erasure is never missed; the call returns once its rows are committed."""
        future: asyncio.Future[list[Delivery] | None] = asyncio.get_running_loop().create_future()
        self._enqueued.append((deliveries, future))
        if self._enqueuing is None:
            self._enqueuing = asyncio.create_task(self._enqueue_all())
        return await future

    async def _enqueue_all(self) -> None:
        try:
            while self._enqueued:
                batch, self._enqueued = self._enqueued, []
                try:
                    results = await self._enqueue_batch([d for d, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._enqueuing = None

    async def _enqueue_batch(self, scores: list[Sequence[Delivery | Queued]]) -> list[list[Delivery] | None]:
        applications = {d[0].application_id for d in scores if d}
        dialect = postgresql if self._postgres else sqlite
        statement = dialect.insert(_DELIVERIES).on_conflict_do_nothing().returning(_DELIVERIES.c.delivery_id)
        columns = [c.name for c in _DELIVERIES.columns]
        async with self._write() as session:
            erased = set(
                await session.scalars(
                    select(ErasedApplication.application_id).where(ErasedApplication.application_id.in_(applications))
                )
            )
            kept = [d for ds in scores if ds and ds[0].application_id not in erased for d in ds]
            rows = [{name: getattr(d, name) for name in columns} for d in kept]
            inserted = set((await session.scalars(statement, rows)).all()) if rows else set()
            known_ids = [d.delivery_id for d in kept if d.delivery_id not in inserted]
            known: dict[str, Delivery] = {}
            if known_ids:
                query = select(Delivery).where(Delivery.delivery_id.in_(known_ids))
                known = {d.delivery_id: d for d in (await session.scalars(query)).all()}
        return [
            None
            if ds and ds[0].application_id in erased
            else [known[d.delivery_id] for d in ds if d.delivery_id in known]
            for ds in scores
        ]

    async def matching(self, job_id: str, max_age_seconds: float = 1.0) -> list[Subscription]:
        """Active subscriptions for a job, from a snapshot at most ``max_age_seconds`` old (changes made through
        this store are seen at once; another replica's within that time)."""
        snapshot = self._snapshot
        if snapshot is None or time.monotonic() - snapshot[0] > max_age_seconds:
            async with self._snapshot_lock:  # one reload for all the handlers that find it stale
                now = time.monotonic()
                if self._snapshot is None or now - self._snapshot[0] > max_age_seconds:
                    changes, current = -1, []
                    while changes != self._subscription_changes:
                        changes = self._subscription_changes
                        current = await self.subscriptions()
                    self._snapshot = (now, current)
                snapshot = self._snapshot
        return [s for s in snapshot[1] if s.job_id is None or s.job_id == job_id]

    async def claim(
        self, limit: int, lease_seconds: float, exclude: Iterable[str] = ()
    ) -> list[tuple[Claimed, Subscription]]:
        """Due pending deliveries of active, unpaused subscriptions, leased to this worker."""
        now = datetime.now(UTC)
        subscriptions = cast(Table, Subscription.__table__)
        query = (
            select(*_CLAIMED_COLUMNS)
            .join(subscriptions, subscriptions.c.id == _DELIVERIES.c.subscription_id)
            .where(
                _DELIVERIES.c.state == PENDING,
                _DELIVERIES.c.next_at <= now,
                or_(_DELIVERIES.c.lease_until.is_(None), _DELIVERIES.c.lease_until < now),
                subscriptions.c.paused.is_(False),
            )
            .order_by(_DELIVERIES.c.next_at)
            .limit(limit)
        )
        excluded = list(exclude)
        if excluded:
            query = query.where(_DELIVERIES.c.subscription_id.not_in(excluded))
        if self._postgres:
            query = query.with_for_update(of=_DELIVERIES, skip_locked=True)
        async with self._write() as session:
            found = [Claimed(*row) for row in (await session.execute(query)).all()]
            if not found:
                return []
            lease = now + timedelta(seconds=lease_seconds)
            ids = [d.delivery_id for d in found]
            leased = update(_DELIVERIES).where(_DELIVERIES.c.delivery_id.in_(ids)).values(lease_until=lease)
            await session.execute(leased)
            wanted = {d.subscription_id for d in found}
            owners = {s.id: s for s in await session.scalars(select(Subscription).where(Subscription.id.in_(wanted)))}
        return [(d, owners[d.subscription_id]) for d in found]

    async def release(self, ids: Sequence[str]) -> None:
        """Give claimed deliveries back without an attempt."""
        if ids:
            async with self._write() as session:
                await session.execute(update(Delivery).where(Delivery.delivery_id.in_(ids)).values(lease_until=None))

    async def next_due(self, exclude: Iterable[str] = ()) -> datetime | None:
        """When the next pending delivery (of an unpaused subscription) becomes claimable."""
        claimable = case((Delivery.lease_until > Delivery.next_at, Delivery.lease_until), else_=Delivery.next_at)
        query = (
            select(func.min(claimable))
            .join(Subscription, Subscription.id == Delivery.subscription_id)
            .where(Delivery.state == PENDING, Subscription.paused.is_(False))
        )
        excluded = list(exclude)
        if excluded:
            query = query.where(Delivery.subscription_id.not_in(excluded))
        async with self._sessions() as session:
            found = await session.scalar(query)
        return utc(found) if isinstance(found, datetime) else None

    async def finish(self, outcomes: Sequence[Outcome]) -> None:
        """Record the attempts and the deliveries' new states in one transaction."""
        if not outcomes:
            return
        attempts = [
            {
                "delivery_id": o.delivery.delivery_id,
                "number": o.delivery.attempts + 1,
                "at": o.at,
                "status_code": o.status_code,
                "latency_seconds": o.latency_seconds,
                "error": o.error,
            }
            for o in outcomes
            if o.attempted
        ]
        changes = [
            {
                "b_id": o.delivery.delivery_id,
                "b_state": o.state,
                "b_attempts": o.delivery.attempts + int(o.attempted),
                "b_tries": o.delivery.tries + int(o.attempted),
                "b_status_code": o.status_code if o.attempted else o.delivery.status_code,
                "b_error": o.error if o.attempted else o.delivery.error,
                "b_next_at": o.next_at,
                "b_finished_at": o.at if o.state != PENDING else None,
            }
            for o in outcomes
        ]
        failing = sorted({o.delivery.subscription_id for o in outcomes if o.state == FAILED})
        healthy = sorted({o.delivery.subscription_id for o in outcomes if o.state == DELIVERED} - set(failing))
        now = datetime.now(UTC)
        async with self._write() as session:
            if attempts:
                await session.execute(insert(_ATTEMPTS), attempts)
            await session.execute(_FINISH, changes)
            if failing:
                await session.execute(
                    update(Subscription)
                    .where(Subscription.id.in_(failing), Subscription.failing_since.is_(None))
                    .values(failing_since=now)
                )
            if healthy:
                await session.execute(
                    update(Subscription)
                    .where(Subscription.id.in_(healthy), Subscription.failing_since.is_not(None))
                    .values(failing_since=None)
                )

    async def unrecorded(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """The outcomes not in the database yet: their delivery is still pending at the attempt they answered."""
        ids = {o.delivery.delivery_id for o in outcomes}
        query = select(Delivery.delivery_id, Delivery.state, Delivery.attempts).where(Delivery.delivery_id.in_(ids))
        async with self._sessions() as session:
            current = {row[0]: (row[1], row[2]) for row in (await session.execute(query)).all()}
        return [o for o in outcomes if current.get(o.delivery.delivery_id) == (PENDING, o.delivery.attempts)]

    async def delivery(self, delivery_id: str) -> tuple[Delivery, list[Attempt]] | None:
        async with self._sessions() as session:
            found = await session.get(Delivery, delivery_id)
            if found is None:
                return None
            query = select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.number)
            return found, list((await session.scalars(query)).all())

    async def redeliver(self, delivery_id: str) -> Delivery | None:
        """Schedule a delivery again from the start of the retry schedule (a delivered one too)."""
        async with self._write() as session:
            found = await session.get(Delivery, delivery_id)
            if found is None or not found.body:
                return None
            found.state = PENDING
            found.tries = 0
            found.next_at = datetime.now(UTC)
            found.lease_until = None
            found.finished_at = None
            return found

    async def deliveries(
        self, subscription_id: str | None = None, application_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        query = select(Delivery).order_by(Delivery.created_at.desc()).limit(limit)
        if subscription_id is not None:
            query = query.where(Delivery.subscription_id == subscription_id)
        if application_id is not None:
            query = query.where(Delivery.application_id == application_id)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def pending_count(self) -> int:
        async with self._sessions() as session:
            return int(
                await session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == PENDING)) or 0
            )

    # Erasure

    async def erase(self, application_ids: Sequence[str], erased_at: datetime) -> int:
        """Delete the applications' deliveries and tombstone them; idempotent. Returns the deliveries deleted."""
        ids = sorted(set(application_ids))
        if not ids:
            return 0
        async with self._write() as session:
            owned = select(Delivery.delivery_id).where(Delivery.application_id.in_(ids))
            await session.execute(delete(Attempt).where(Attempt.delivery_id.in_(owned)))
            deleted = await session.execute(delete(Delivery).where(Delivery.application_id.in_(ids)))
            known = set(
                await session.scalars(
                    select(ErasedApplication.application_id).where(ErasedApplication.application_id.in_(ids))
                )
            )
            session.add_all(ErasedApplication(application_id=i, erased_at=erased_at) for i in ids if i not in known)
        return int(getattr(deleted, "rowcount", 0) or 0)

    async def is_erased(self, application_id: str) -> bool:
        async with self._sessions() as session:
            return await session.get(ErasedApplication, application_id) is not None
