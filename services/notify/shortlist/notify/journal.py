"""The outcome journal: each answered request is appended to a local file the moment its answer arrives.

Outcomes reach the database in batches, tens of milliseconds after the answer. A process killed in between
would leave the delivery leased but unrecorded, and it would be sent again once the lease ran out. A write to
the journal is one system call into the page cache, which outlives the process; on start the worker records
what the journal holds and the database does not have yet. A lost machine (not a killed process) still loses
the journal: those deliveries are sent again with the same ``webhook-id``.

The file is emptied whenever every outcome written to it is in the database. A second worker on the same state
folder takes the next free file (each is held with an exclusive lock while open).
"""

import contextlib
import fcntl
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from shortlist.notify.store import Claimed, Outcome

log = logging.getLogger(__name__)

_DATES = ("at", "next_at")
_CLAIMED_DATES = ("submitted_at", "created_at")


def _date(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def encode(outcome: Outcome) -> bytes:
    d = outcome.delivery
    claimed = {
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
    line = {
        "delivery": claimed,
        "state": outcome.state,
        "at": _date(outcome.at),
        "status_code": outcome.status_code,
        "error": outcome.error,
        "latency_seconds": outcome.latency_seconds,
        "next_at": _date(outcome.next_at),
        "attempted": outcome.attempted,
    }
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Outcome:
    """One journal line; the body is not journaled (recording an outcome does not need it)."""
    fields: dict[str, Any] = json.loads(line)
    claimed: dict[str, Any] = fields.pop("delivery")
    for name in _CLAIMED_DATES:
        claimed[name] = _parse(claimed[name])
    for name in _DATES:
        fields[name] = _parse(fields[name])
    return Outcome(delivery=Claimed(body="", **claimed), **fields)


class Journal:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._fd: int | None = None
        self.path: Path | None = None
        self._unrecorded = 0

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
        found: list[Outcome] = []
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            try:
                found.append(decode(line))
            except (ValueError, TypeError, KeyError):
                # The last line of a process killed mid-write; the delivery is sent again after its lease.
                log.warning("skipped unreadable line %d of the outcome journal %s", number, path.name)
        self._unrecorded = len(found)
        return found

    def write(self, outcome: Outcome) -> None:
        if self._fd is None:
            return
        os.write(self._fd, encode(outcome))
        self._unrecorded += 1

    def recorded(self, count: int) -> None:
        """``count`` journaled outcomes are in the database; the file is emptied once all of them are."""
        self._unrecorded -= count
        if self._fd is not None and self._unrecorded <= 0:
            self._unrecorded = 0
            os.ftruncate(self._fd, 0)

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
