"""CVs whose job is not known yet, parked in SQLite under ``state_dir`` until the job arrives.

A parked CV keeps the record as it came (value, key, headers and its coordinates), so it can be completed
later exactly as if it had just been consumed, or dead-lettered unchanged with the ``dlt-*`` headers.
One row per application: a newer record of the same application replaces the parked one.
"""

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parked_cvs (
    application_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    headers TEXT NOT NULL,
    parked_at REAL NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS parked_cvs_job ON parked_cvs (job_id);
"""


@dataclass(frozen=True)
class ParkedCv:
    application_id: str
    job_id: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    parked_at: float
    failures: int = 0


_COLUMNS = 'application_id, job_id, topic, partition, "offset", key, value, headers, parked_at, failures'


def _row(row: tuple[object, ...]) -> ParkedCv:
    app, job, topic, partition, offset, key, value, headers, parked_at, failures = row
    return ParkedCv(
        application_id=str(app),
        job_id=str(job),
        topic=str(topic),
        partition=int(str(partition)),
        offset=int(str(offset)),
        key=bytes(key) if isinstance(key, bytes | memoryview) else None,
        value=bytes(value) if isinstance(value, bytes | memoryview) else b"",
        headers=json.loads(str(headers)),
        parked_at=float(str(parked_at)),
        failures=int(str(failures)),
    )


class ParkingLot:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def start(self) -> None:
        def open_db() -> None:
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            self._db = db

        await self._run_raw(open_db)

    async def close(self) -> None:
        if self._db is not None:
            await self._run(lambda db: db.close())
            self._db = None

    async def park(self, cv: ParkedCv) -> None:
        values = (
            cv.application_id,
            cv.job_id,
            cv.topic,
            cv.partition,
            cv.offset,
            cv.key,
            cv.value,
            json.dumps(cv.headers),
            cv.parked_at or time.time(),
            cv.failures,
        )
        await self._run(
            lambda db: db.execute(
                f"INSERT OR REPLACE INTO parked_cvs ({_COLUMNS}) VALUES ({','.join('?' * 10)})", values
            )
        )

    async def get(self, application_id: str) -> ParkedCv | None:
        def select(db: sqlite3.Connection) -> ParkedCv | None:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM parked_cvs WHERE application_id = ?", (application_id,)
            ).fetchone()
            return _row(row) if row else None

        return await self._run(select)

    async def for_job(self, job_id: str) -> list[ParkedCv]:
        def select(db: sqlite3.Connection) -> list[ParkedCv]:
            rows = db.execute(f"SELECT {_COLUMNS} FROM parked_cvs WHERE job_id = ? ORDER BY parked_at", (job_id,))
            return [_row(r) for r in rows.fetchall()]

        return await self._run(select)

    async def all(self) -> list[ParkedCv]:
        return await self._run(
            lambda db: [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM parked_cvs ORDER BY parked_at").fetchall()]
        )

    async def count(self) -> int:
        return await self._run(lambda db: int(db.execute("SELECT COUNT(*) FROM parked_cvs").fetchone()[0]))

    async def remove(self, cv: ParkedCv) -> None:
        """Remove this parked record (not a newer one of the same application parked since)."""
        await self._run(
            lambda db: db.execute(
                'DELETE FROM parked_cvs WHERE application_id = ? AND topic = ? AND partition = ? AND "offset" = ?',
                (cv.application_id, cv.topic, cv.partition, cv.offset),
            )
        )

    async def discard(self, application_id: str) -> None:
        """Forget whatever is parked for this application (a newer record of it supersedes it)."""
        await self._run(lambda db: db.execute("DELETE FROM parked_cvs WHERE application_id = ?", (application_id,)))

    async def failed(self, cv: ParkedCv) -> int:
        """Count a failed try at completing it; returns the failures so far."""
        await self._run(
            lambda db: db.execute(
                "UPDATE parked_cvs SET failures = failures + 1 WHERE application_id = ?", (cv.application_id,)
            )
        )
        return cv.failures + 1

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            if self._db is None:
                raise RuntimeError("the parking lot is not started")
            return call(self._db)

        return await self._run_raw(locked)

    async def _run_raw(self, call: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return call()

        return await asyncio.to_thread(locked)
