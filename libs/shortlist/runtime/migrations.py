"""Versioned schema migrations on SQLite and PostgreSQL, for a service that owns its tables.

A version table lists the steps applied. Steps run in order, each once, in one transaction; on PostgreSQL an
advisory lock keeps two replicas starting together from migrating at the same time. A step's tables are
written out as they were at that version, never taken from the current models. To change the schema, append
a step; never edit an applied one.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, DateTime, Integer, MetaData, String, Table, func, inspect, select, text

Step = Callable[[Connection], None]


def when(name: str, nullable: bool = True) -> Column[datetime]:
    """A timestamp column with its time zone."""
    return Column(name, DateTime(timezone=True), nullable=nullable)


class Migrations:
    def __init__(self, version_table: str, lock_id: int, steps: Sequence[tuple[int, str, Step]]) -> None:
        self.steps = list(steps)
        self.latest = self.steps[-1][0]
        self._lock_id = lock_id
        self._meta = MetaData()
        self._versions = Table(
            version_table,
            self._meta,
            Column("version", Integer, primary_key=True),
            Column("description", String(200), nullable=False),
            when("applied_at", nullable=False),
        )

    def current_version(self, connection: Connection) -> int:
        if not inspect(connection).has_table(self._versions.name):
            return 0
        query = select(func.coalesce(func.max(self._versions.c.version), 0))
        return int(connection.execute(query).scalar_one())

    def migrate(self, connection: Connection, target: int | None = None) -> list[int]:
        """Apply the steps after the current version up to ``target`` (the latest by default); returns the
        versions applied."""
        target = self.latest if target is None else target
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({self._lock_id})"))
        self._meta.create_all(connection, checkfirst=True)
        applied = []
        current = self.current_version(connection)
        for version, description, step in self.steps:
            if current < version <= target:
                step(connection)
                connection.execute(
                    self._versions.insert().values(
                        version=version, description=description, applied_at=datetime.now(UTC)
                    )
                )
                applied.append(version)
        return applied
