"""One stack per state folder: an exclusive lock on ``<state>/stack.lock`` that names the stack holding it.

The lock is an ``flock`` on an open file. The kernel drops it when every process holding the file is gone, so a
stack killed with SIGKILL leaves no stale lock, and since the services inherit the file, the lock lasts until
the last of them has stopped.
"""

import fcntl
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

LOCK_FILE = "stack.lock"


class StackLocked(RuntimeError):
    """Another stack runs on this state folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(state_dir: Path, info: Mapping[str, Any]) -> str:
    pid = info.get("pid")
    if not isinstance(pid, int):
        return f"another Shortlist stack holds the state folder {state_dir}. Stop it or use another --state-dir."
    started = info.get("started", "?")
    ports = info.get("ports") or {}
    where = ", ".join(f"{name} {port}" for name, port in ports.items())
    if _alive(pid):
        return (
            f"a Shortlist stack is already running on the state folder {state_dir}: pid {pid}, started {started}"
            f" (ports: {where}; kafka {info.get('bootstrap', '?')}). Stop it (Ctrl-C in its terminal, or kill {pid})"
            " or use another --state-dir."
        )
    return (
        f"the stack of pid {pid} (started {started}) on the state folder {state_dir} is gone, but its services are"
        f" still stopping (ports: {where}). Try again in a few seconds."
    )


class StackLock:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / LOCK_FILE
        self._file: IO[str] | None = None

    @property
    def fileno(self) -> int | None:
        return self._file.fileno() if self._file is not None else None

    def acquire(self, ports: Mapping[str, int], bootstrap: str | None) -> None:
        """Take the lock and write who holds it; raise :class:`StackLocked` naming the holder otherwise."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                info = json.loads(handle.read() or "{}")
            except ValueError:
                info = {}
            handle.close()
            raise StackLocked(describe(self.state_dir, info)) from None
        self._file = handle
        self.update(ports, bootstrap)

    def update(self, ports: Mapping[str, int], bootstrap: str | None) -> None:
        assert self._file is not None
        info = {
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ports": dict(ports),
            "bootstrap": bootstrap,
        }
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps(info))
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
