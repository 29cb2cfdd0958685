"""A small service for the crash and shutdown tests: one consumer whose side effect is a SQLite row per record.

Run as ``python consumer_app.py TOPIC GROUP DB RUN DELAY`` with the ``SHORTLIST_*`` settings in the environment.
Per record it writes ``started`` (before the work), sleeps DELAY seconds, then in one transaction a
``deliveries`` row (every delivery, to count redeliveries) and an idempotent ``handled`` row (one per ce_id).
"""

import asyncio
import sqlite3
import sys
from pathlib import Path

from shortlist.runtime.http import create_app
from shortlist.runtime.records import Record
from shortlist.runtime.service import Service, run
from shortlist.runtime.settings import ServiceSettings

SCHEMA = """
CREATE TABLE IF NOT EXISTS started (ce_id TEXT NOT NULL, run TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (ce_id TEXT NOT NULL, run TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS handled (ce_id TEXT PRIMARY KEY, run TEXT NOT NULL);
"""


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return db


def main() -> None:
    topic, group, db_path, run_name, delay = sys.argv[1:6]
    db = connect(Path(db_path))

    async def handle(record: Record) -> None:
        ce_id = record.envelope.id
        db.execute("INSERT INTO started VALUES (?, ?)", (ce_id, run_name))
        await asyncio.sleep(float(delay))
        with db:
            db.execute("BEGIN")
            db.execute("INSERT INTO deliveries VALUES (?, ?)", (ce_id, run_name))
            db.execute("INSERT OR IGNORE INTO handled VALUES (?, ?)", (ce_id, run_name))

    settings = ServiceSettings(service_name="consumer-app")
    service = Service(settings)
    service.consume(group, {topic: handle})
    run(service, create_app(settings.service_name, service.readiness))


if __name__ == "__main__":
    main()
