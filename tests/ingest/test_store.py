"""Ingest's database on SQLite and on a real PostgreSQL: schema migrations, locks and erasure."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text

from shortlist.ingest.erasure import erase
from shortlist.ingest.migrations import LATEST, current_version, migrate
from shortlist.ingest.overrides import history
from shortlist.ingest.store import Application, Base, Job, ScoreOverride, Store
from tests.conftest import throwaway_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        sqlite = Store.for_settings(None, tmp_path / "ingest.db")
        yield sqlite
        await sqlite.close()
        return
    async with throwaway_postgres("ingest_test") as url:
        postgres = Store.for_settings(url, Path("unused"))
        try:
            yield postgres
        finally:
            await postgres.close()


def schema(connection: Connection) -> dict[str, set[str]]:
    found = inspect(connection)
    return {table: {c["name"] for c in found.get_columns(table)} for table in found.get_table_names()}


async def test_migrations_build_the_schema_the_models_use_and_run_once(store: Store) -> None:
    await store.create()
    await store.create()  # a restart applies nothing twice
    async with store.engine.connect() as connection:
        assert await connection.run_sync(current_version) == LATEST
        tables = await connection.run_sync(schema)
        versions = (await connection.execute(text("SELECT version FROM schema_version ORDER BY version"))).all()
    assert [v for (v,) in versions] == list(range(1, LATEST + 1))
    for table in Base.metadata.sorted_tables:
        assert tables[table.name] == {c.name for c in table.columns}, table.name


async def test_an_older_database_is_upgraded_with_its_rows(store: Store) -> None:
    async with store.engine.begin() as connection:
        assert await connection.run_sync(lambda c: migrate(c, target=1)) == [1]
        await connection.execute(
            text(
                "INSERT INTO jobs (id, version, title, description, requirements, created_at) "
                "VALUES ('job-1', 3, 'SRE', 'Run things', :requirements, :at)"
            ),
            {
                "requirements": '[{"id": "job-1-r1", "text": "Linux", "kind": "must", "weight": 1.0}]',
                "at": datetime.now(UTC),
            },
        )
    await store.create()
    old = await store.get_job_version("job-1", 3)
    assert old is not None and old.title == "SRE" and old.requirements[0]["text"] == "Linux"
    job = Job(id="job-2", version=1, title="Dev", description="Code", requirements=[], created_at=datetime.now(UTC))
    await store.add_job(job)
    assert (await store.get_job_version("job-2", 1)) is not None


async def test_a_content_lock_and_a_row_update_never_deadlock(tmp_path: Path) -> None:
    """The batch route holds the dedupe lock while it writes the row: that must not wait on itself."""
    store = Store.for_settings(None, tmp_path / "ingest.db")
    await store.create()
    try:
        for _ in range(300):
            # The timeout guards against a hang; it is not a speed check.
            content_lock = store.lock(f"content/{uuid.uuid4()}/{uuid.uuid4().hex}")
            async with content_lock, asyncio.timeout(10), store.application_update(str(uuid.uuid4())) as update:
                assert update is not None
    finally:
        await store.close()


async def test_erasure_deletes_overrides_and_keeps_late_events_out(store: Store) -> None:
    await store.create()
    at = datetime.now(UTC)
    rows = [
        Application(id=app, job_id="job-1", candidate_id=candidate, status="scored", progress=3, score_value=70.0)
        for app, candidate in (("app-1", "cand-1"), ("app-2", "cand-1"), ("app-3", "cand-2"), ("app-4", ""))
    ]
    overrides = [
        ScoreOverride(id=str(uuid.uuid4()), application_id=app, score=40.0, reason=f"note {n}", created_at=at)
        for n, app in enumerate(("app-1", "app-1", "app-3", "app-4"))
    ]
    await store.add(*rows, *overrides)
    assert (await history(store, "app-1"))["override_count"] == 2

    # By candidate id, and by an application id the event names (app-4 has no candidate id).
    assert await erase(store, "cand-1", ["app-4"], at) == ["app-1", "app-2", "app-4"]
    assert await erase(store, "cand-1", ["app-4"], at) == ["app-4"]  # a replay is harmless
    for app in ("app-1", "app-2", "app-4"):
        assert await store.get_application(app) is None
        assert await history(store, app) == {"override": None, "override_count": 0, "overrides": []}
    assert (await history(store, "app-3"))["override"]["reason"] == "note 2"
    assert await store.get_application("app-3") is not None

    async with store.application_update("app-1", "late-event", "cv.scored.v1") as update:
        assert update is None  # the tombstone keeps a late event from creating the row again
    assert await store.get_application("app-1") is None
