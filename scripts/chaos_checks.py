"""What a chaos run checks once the faults are over: every application scored exactly once, no webhook delivered
twice, none stuck, consumer lag back to zero.

Statuses come from ingest's database, score rows from score's audit database (both SQLite in the state folder),
webhook ids from the receiver, lag from the broker (end offsets against committed offsets).
"""

import asyncio
import re
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from scripts.chaos_harness import Harness
from shortlist.runtime.topics import (
    CANDIDATES_ERASED,
    CV_EMBEDDED,
    CV_INGESTED,
    CV_SCORED,
    CV_SUBMITTED,
    JOBS_POSTED,
    NOTIFY_DELIVERED,
    dlt,
)

#: The consumer groups of the pipeline and the topics each consumes.
GROUPS: dict[str, tuple[str, ...]] = {
    "shortlist-ingest": (
        CV_SUBMITTED,
        CV_INGESTED,
        CV_EMBEDDED,
        CV_SCORED,
        NOTIFY_DELIVERED,
        CANDIDATES_ERASED,
        *(dlt(t) for t in (CV_SUBMITTED, CV_INGESTED, CV_EMBEDDED, CV_SCORED)),
    ),
    "shortlist-embed-jobs": (JOBS_POSTED,),
    "shortlist-embed": (CV_INGESTED,),
    "shortlist-score": (CV_EMBEDDED,),
    "shortlist-notify": (CV_SCORED,),
}
SCORED = ("scored", "notified")
_REDROVE = re.compile(r"re-drove (\d+) application")


def _query(database: Path, sql: str) -> list[tuple[object, ...]]:
    if not database.exists():
        return []
    with sqlite3.connect(database, timeout=30) as connection:
        return list(connection.execute(sql))


def interrupted_webhooks(state_dir: Path) -> set[str]:
    """Webhook ids with an attempt notify logged as ``interrupted``: in flight when it was killed, so sent again."""
    sql = (
        "SELECT DISTINCT d.event_id FROM webhook_attempts a JOIN webhook_deliveries d ON d.delivery_id = a.delivery_id"
        " WHERE a.error = 'interrupted'"
    )
    return {str(row[0]) for row in _query(state_dir / "notify.db", sql)}


def statuses(state_dir: Path) -> dict[str, str]:
    return {str(i): str(s) for i, s in _query(state_dir / "ingest.db", "SELECT id, status FROM applications")}


def audit_rows(state_dir: Path) -> Counter[str]:
    rows = _query(state_dir / "score.db", "SELECT application_id, count(*) FROM score_audit GROUP BY application_id")
    return Counter({str(a): int(str(n)) for a, n in rows})


def redriven(state_dir: Path) -> int:
    """Applications re-published by ingest's re-drive, from its log (its counter restarts with the process)."""
    log = state_dir / "logs" / "ingest.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return sum(int(n) for n in _REDROVE.findall(text))


async def consumer_lag(bootstrap: str) -> dict[str, int]:
    """Records not yet committed, per group (end offset minus committed offset, summed over partitions)."""
    lag: dict[str, int] = {}
    for group, topics in GROUPS.items():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, request_timeout_ms=30_000
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or set())
            ]
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = [
                    TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or set())
                ]
            ends = await consumer.end_offsets(partitions)
            total = 0
            for tp in partitions:
                committed = await consumer.committed(tp)
                total += max(0, ends[tp] - (committed or 0))
            lag[group] = total
        finally:
            await consumer.stop()
    return lag


@dataclass
class Outcome:
    submitted: int
    scored: int
    scored_twice: int
    stuck: list[str]
    failed: dict[str, str]
    webhooks: int
    webhooks_duplicated: int
    duplicated_in_flight: int
    """Duplicates whose first request was in flight when notify was killed (answer never seen, logged interrupted)."""
    lag: dict[str, int]
    redriven: int
    settled_after: float
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.scored == self.submitted
            and not self.scored_twice
            and not self.stuck
            and self.webhooks_duplicated == self.duplicated_in_flight
            and not any(self.lag.values())
        )

    def line(self) -> str:
        return (
            f"submitted {self.submitted}, scored {self.scored}, scored twice {self.scored_twice},"
            f" stuck {len(self.stuck)}, failed {len(self.failed)}, webhooks received {self.webhooks},"
            f" duplicated {self.webhooks_duplicated} ({self.duplicated_in_flight} in flight at a notify kill),"
            f" re-driven {self.redriven},"
            f" consumer lag {sum(self.lag.values())}; settled {self.settled_after:.0f} s after the last fault"
        )


def outcome(harness: Harness, accepted: list[str], settled_after: float, lag: dict[str, int] | None = None) -> Outcome:
    status = statuses(harness.state_dir)
    rows = audit_rows(harness.state_dir)
    lag = asyncio.run(consumer_lag(harness.stack.bootstrap)) if lag is None else lag
    scored = [a for a in accepted if status.get(a) in SCORED]
    duplicated = harness.receiver.duplicated_ids
    return Outcome(
        submitted=len(accepted),
        scored=sum(1 for a in accepted if rows[a] >= 1 and a in scored),
        scored_twice=sum(1 for a in accepted if rows[a] > 1),
        stuck=[a for a in accepted if status.get(a) not in (*SCORED, "failed")],
        failed={a: status[a] for a in accepted if status.get(a) == "failed"},
        webhooks=harness.receiver.received,
        webhooks_duplicated=len(duplicated),
        duplicated_in_flight=len(duplicated & interrupted_webhooks(harness.state_dir)),
        lag=lag,
        redriven=redriven(harness.state_dir),
        settled_after=settled_after,
    )


def settle(harness: Harness, accepted: list[str], timeout: float) -> Outcome:
    """Wait until every accepted application is notified (or failed) and no consumer lags; then measure."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        harness.stack.check()  # a service that died is an error, not something to wait for
        status = statuses(harness.state_dir)
        if all(status.get(a) in ("notified", "failed") for a in accepted):
            # A group that rebalances late (a killed member's session expiring) may take records back for a
            # moment: the lag that counts is the one seen when everything is through.
            lag = asyncio.run(consumer_lag(harness.stack.bootstrap))
            if not any(lag.values()):
                return outcome(harness, accepted, time.monotonic() - started, lag)
        time.sleep(1.0)
    return outcome(harness, accepted, time.monotonic() - started)
