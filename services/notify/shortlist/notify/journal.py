"""The outcome journal: each request is appended to a local file as it starts, and its answer the moment it arrives.

Outcomes reach the database in batches, tens of milliseconds after the answer. A process killed in between
would leave the delivery leased but unrecorded, and it would be sent again once the lease ran out. A write to
the journal is one system call into the page cache, which outlives the process; on start the worker records
what the journal holds and the database does not have yet. A request that started but has no answer in the
journal was in flight when the process died: the receiver may or may not have processed it, so it is recorded
as an ``interrupted`` attempt and sent again (the one case where a receiver sees a ``webhook-id`` twice, besides
a lost machine, which loses the journal).

The file is emptied whenever nothing written to it is still open (in flight or not in the database), and
rewritten with only the open lines when it grows past ``_COMPACT_LINES`` lines. A second worker on the same
state folder takes the next free file (each is held with an exclusive lock while open).
"""

import contextlib
import fcntl
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shortlist.notify.models import PENDING, Delivery
from shortlist.notify.store import Claimed, Outcome

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"
_COMPACT_LINES = 20_000
_DATES = ("at", "next_at")
_CLAIMED_DATES = ("submitted_at", "created_at")


def _date(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _claimed(d: Claimed) -> dict[str, Any]:
    return {
        "delivery_id": d.delivery_id,
        "subscription_id": d.subscription_id,
        "event_id": d.event_id,
        "application_id": d.application_id,
        "job_id": d.job_id,
        "attempts": d.attempts,
        "tries": d.tries,
        "status_code": d.status_code,
        "error": d.error,
        "submitted_at": _date(d.submitted_at),
        "created_at": _date(d.created_at),
    }


def encode_begin(delivery: Claimed) -> bytes:
    """Only what recording an interrupted attempt needs: the request's outcome is unknown, nothing is announced."""
    begun = [delivery.delivery_id, delivery.subscription_id, delivery.attempts, delivery.tries]
    return json.dumps({"begin": begun}, separators=(",", ":")).encode() + b"\n"


def encode(outcome: Outcome) -> bytes:
    line = {
        "delivery": _claimed(outcome.delivery),  # type: ignore[arg-type]
        "state": outcome.state,
        "at": _date(outcome.at),
        "status_code": outcome.status_code,
        "error": outcome.error,
        "latency_seconds": outcome.latency_seconds,
        "next_at": _date(outcome.next_at),
        "attempted": outcome.attempted,
    }
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


def _decode_claimed(fields: dict[str, Any]) -> Claimed:
    for name in _CLAIMED_DATES:
        fields[name] = _parse(fields[name])
    return Claimed(body="", **fields)


def decode(line: bytes) -> Claimed | Outcome:
    """One journal line: a request that started, or an answer. The body is not journaled (not needed to record)."""
    fields: dict[str, Any] = json.loads(line)
    if "begin" in fields:
        delivery_id, subscription_id, attempts, tries = fields["begin"]
        return Claimed(
            delivery_id, subscription_id, "", "", "", int(attempts), int(tries), None, None, "", None, datetime.min
        )
    claimed = _decode_claimed(fields.pop("delivery"))
    for name in _DATES:
        fields[name] = _parse(fields[name])
    return Outcome(delivery=claimed, **fields)


def interrupted(delivery: Claimed, at: datetime) -> Outcome:
    """A request in flight when its process died: an attempt of unknown result, sent again at once."""
    return Outcome(delivery, PENDING, at, error=INTERRUPTED, next_at=at)


def _key(delivery: Claimed | Delivery) -> tuple[str, int]:
    return delivery.delivery_id, delivery.attempts


class Journal:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._fd: int | None = None
        self.path: Path | None = None
        self._open: dict[tuple[str, int], bytes] = {}  # lines of requests in flight and answers not recorded
        self._lines = 0

    def open(self) -> list[Outcome]:
        """Take a journal file and return the outcomes a killed process left in it."""
        self._folder.mkdir(parents=True, exist_ok=True)
        for index in range(64):
            path = self._folder / ("outcomes.jsonl" if index == 0 else f"outcomes-{index}.jsonl")
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._fd, self.path = fd, path
            return self._read(path)
        raise RuntimeError(f"no free outcome journal in {self._folder}")

    def _read(self, path: Path) -> list[Outcome]:
        """The answers not known to be recorded, and an ``interrupted`` outcome per request that had none."""
        started: dict[tuple[str, int], Claimed] = {}
        answered: dict[tuple[str, int], Outcome] = {}
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            try:
                entry = decode(line)
            except (ValueError, TypeError, KeyError):
                # The last line of a process killed mid-write; the delivery is sent again after its lease.
                log.warning("skipped unreadable line %d of the outcome journal %s", number, path.name)
                continue
            if isinstance(entry, Outcome):
                answered[_key(entry.delivery)] = entry
            else:
                started[_key(entry)] = entry
        now = datetime.now(UTC)
        found = list(answered.values()) + [interrupted(d, now) for k, d in started.items() if k not in answered]
        self._open = {_key(o.delivery): encode(o) for o in found}
        self._lines = len(self._open)
        return found

    def begin(self, delivery: Claimed) -> None:
        line = encode_begin(delivery)
        self._open[_key(delivery)] = line
        self._append(line)

    def write(self, outcome: Outcome) -> None:
        line = encode(outcome)
        self._open[_key(outcome.delivery)] = line
        self._append(line)

    def recorded(self, outcomes: list[Outcome]) -> None:
        """These outcomes are in the database: empty the file once nothing is open, compact it when long."""
        for outcome in outcomes:
            self._open.pop(_key(outcome.delivery), None)
        if self._fd is None:
            return
        if not self._open:
            os.ftruncate(self._fd, 0)
            self._lines = 0
        elif self._lines > _COMPACT_LINES:
            # Two calls: a kill between them loses the open lines, and those deliveries are sent again.
            os.ftruncate(self._fd, 0)
            os.write(self._fd, b"".join(self._open.values()))
            self._lines = len(self._open)

    def _append(self, line: bytes) -> None:
        if self._fd is not None:
            os.write(self._fd, line)
            self._lines += 1

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
