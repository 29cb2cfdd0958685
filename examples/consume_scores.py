"""A downstream consumer of ``cv.scored.v1``: what an ATS integration needs and nothing more.

    python examples/consume_scores.py --bootstrap 127.0.0.1:9092 --group my-ats [--job JOB] [--max N]

It reads the CloudEvents headers and the protobuf value, skips records it has handled before (deduplication by
``ce_id`` in a small SQLite file, since delivery is at least once), acts on each new score (here: prints one JSON
line) and commits the offset only after that, so a crash means a redelivery, never a lost score.
Needs ``aiokafka``, ``protobuf`` and the generated ``shortlist.v1`` code (or your own from proto/).
"""

import argparse
import asyncio
import json
import sqlite3
import sys

from aiokafka import AIOKafkaConsumer

from shortlist.v1 import score_pb2

TOPIC = "cv.scored.v1"
CE_TYPE = "shortlist.cv.scored.v1"


def handled_before(db: sqlite3.Connection, ce_id: str) -> bool:
    """Record ``ce_id``; True when it was already there (a redelivered or replayed record)."""
    try:
        with db:
            db.execute("INSERT INTO processed (ce_id) VALUES (?)", (ce_id,))
    except sqlite3.IntegrityError:
        return True
    return False


def act_on(headers: dict[str, str], score: score_pb2.CvScored) -> None:
    """Your side effect goes here (update the ATS, notify a recruiter, ...). Make it idempotent too."""
    recommendation = score_pb2.Recommendation.Name(score.recommendation).removeprefix("RECOMMENDATION_").lower()
    line = {
        "ce_id": headers["ce_id"],
        "application_id": score.application_id,
        "job_id": score.job_id,
        "score": round(score.score, 2),
        "recommendation": recommendation,
    }
    print(json.dumps(line), flush=True)


async def consume(bootstrap: str, group: str, job: str | None, limit: int | None, state: str) -> None:
    db = sqlite3.connect(state)
    db.execute("CREATE TABLE IF NOT EXISTS processed (ce_id TEXT PRIMARY KEY)")
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=30_000,
    )
    await consumer.start()
    acted = duplicates = 0
    try:
        while limit is None or acted < limit:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    headers = {k: (v or b"").decode() for k, v in record.headers}
                    if headers.get("ce_type") != CE_TYPE or headers.get("content-type") != "application/protobuf":
                        continue  # not a score (a future event type on the topic): skip, do not fail
                    score = score_pb2.CvScored.FromString(record.value or b"")
                    if job is not None and score.job_id != job:
                        continue
                    if handled_before(db, headers["ce_id"]):
                        duplicates += 1
                        continue
                    act_on(headers, score)
                    acted += 1
            if batches:
                await consumer.commit()  # after the side effects: at least once
    finally:
        await consumer.stop()
        db.close()
        print(f"# {acted} scores handled, {duplicates} duplicates skipped", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--group", default="example-ats")
    parser.add_argument("--job", help="only this job's scores")
    parser.add_argument("--max", type=int, help="stop after this many new scores")
    parser.add_argument("--state", default="processed-scores.sqlite", help="the deduplication file")
    args = parser.parse_args()
    asyncio.run(consume(args.bootstrap, args.group, args.job, args.max, args.state))


if __name__ == "__main__":
    main()
