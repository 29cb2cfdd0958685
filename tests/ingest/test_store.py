"""Schema migrations of ingest's database on SQLite and on a real PostgreSQL."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text

from shortlist.ingest.migrations import LATEST, current_version, migrate
from shortlist.ingest.store import Base, Job, Store
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
