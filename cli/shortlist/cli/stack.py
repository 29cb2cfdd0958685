"""The embedded stack: a Tansu broker and the four services as separate processes on one machine."""

import asyncio
import collections
import concurrent.futures
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
from rich.console import Console
from rich.text import Text

from shortlist.cli.stacklock import StackLock, StackLocked
from shortlist.runtime import lifetime
from shortlist.runtime.broker import EmbeddedBroker, free_port
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import ensure_topics

SERVICES = ("ingest", "embed", "score", "notify")
DEFAULT_PORTS = {"ingest": 8001, "embed": 8002, "score": 8003, "notify": 8004}
DEFAULT_BROKER_PORT = 9092
COLOURS = {"broker": "blue", "ingest": "cyan", "embed": "magenta", "score": "yellow", "notify": "green"}
TAIL_LINES = 40


class StackError(RuntimeError):
    """The stack could not start or one of its processes died."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        # As the servers bind: connections of a process that just died (TIME_WAIT) do not make the port taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def available_ports(preferred: Mapping[str, int] | None = None) -> dict[str, int]:
    """The default (or preferred) port of each service, or a free port when that one is taken."""
    wanted = {**DEFAULT_PORTS, **(preferred or {})}
    return {name: port if port_is_free(port) else free_port() for name, port in wanted.items()}


def ports_from_env(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """Ports set through ``SHORTLIST_<SERVICE>_PORT``, else the defaults."""
    env = os.environ if env is None else env
    return {name: int(env.get(f"SHORTLIST_{name.upper()}_PORT", port)) for name, port in DEFAULT_PORTS.items()}


def broker_port_from_env(env: Mapping[str, str] | None = None) -> int | None:
    """The embedded broker's port from ``SHORTLIST_BROKER_PORT``; None: 9092, or a free port when that is taken."""
    value = (os.environ if env is None else env).get("SHORTLIST_BROKER_PORT", "").strip()
    return int(value) if value else None


def resolve_api_keys(explicit: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """The services' ``SHORTLIST_API_KEYS`` and the key clients send.

    ``SHORTLIST_API_KEYS`` as given when set (clients send the explicit key, else its first key); else the
    explicit key with every scope; else a new random key with every scope.
    """
    configured = env.get("SHORTLIST_API_KEYS", "").strip()
    first = next((e.partition(":")[0].strip() for e in configured.split(",") if e.strip()), "")
    if first:
        return configured, explicit or first
    key = explicit or f"sk_{secrets.token_urlsafe(24)}"
    return key, key


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine to completion from sync code, even when the calling thread already runs an event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, factory()).result()


class _Process:
    """One service process and the thread that streams its output."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], echo: Callable[[str, str], None]) -> None:
        self.name = name
        self.popen = popen
        self.lines: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._echo = echo
        self._thread = threading.Thread(target=self._pump, name=f"log {name}", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for raw in iter(self.popen.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            self._echo(self.name, line)

    def join_output(self, timeout: float = 2.0) -> None:
        self._thread.join(timeout)

    def last_lines(self) -> str:
        return "\n".join(self.lines) or "(no output)"


class Stack:
    """Starts the broker (unless ``bootstrap`` is given) and the four services; stops them in order.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        state_dir: Path | str | None = None,
        ports: Mapping[str, int] | None = None,
        bootstrap: str | None = None,
        env: Mapping[str, str] | None = None,
        *,
        console: Console | None = None,
        echo: bool = True,
        log_files: bool = True,
        ready_timeout: float = 120.0,
        stop_timeout: float = 20.0,
        services: tuple[str, ...] = SERVICES,
        api_key: str | None = None,
        broker_port: int | None = None,
    ) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else Path.cwd() / ".shortlist"
        self.ports = {**DEFAULT_PORTS, **(ports or {})}
        self.services = services
        self._bootstrap = bootstrap
        self._broker_port = broker_port
        self._env = dict(env or {})
        self._console = console or Console(stderr=True)
        self._echo_enabled = echo
        self._log_files = log_files
        self._ready_timeout = ready_timeout
        self._stop_timeout = stop_timeout
        self._broker: EmbeddedBroker | None = None
        self._processes: dict[str, _Process] = {}
        self._files: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        self._state_lock = StackLock(self.state_dir)
        self.api_keys, self.api_key = resolve_api_keys(api_key, {**os.environ, **self._env})

    @property
    def bootstrap(self) -> str:
        if self._bootstrap is not None:
            return self._bootstrap
        if self._broker is None:
            raise StackError("the stack is not started")
        return self._broker.bootstrap

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def url(self, service: str) -> str:
        """Base URL of a service, e.g. ``http://127.0.0.1:8001`` for ingest."""
        if service not in self.ports:
            raise KeyError(f"unknown service {service!r}; one of {', '.join(self.ports)}")
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self) -> "Stack":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._state_lock.acquire(self.ports, self._bootstrap)
        except StackLocked as exc:
            raise StackError(str(exc)) from None
        if self._log_files:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        taken = [
            f"{name} ({port})" for name, port in self.ports.items() if name in self.services and not port_is_free(port)
        ]
        if taken:
            raise StackError(
                f"port(s) already in use: {', '.join(taken)}. Stop what uses them or set SHORTLIST_<SERVICE>_PORT."
            )
        if self._bootstrap is None:
            port = self._broker_port or (DEFAULT_BROKER_PORT if port_is_free(DEFAULT_BROKER_PORT) else free_port())
            self._start_broker(port)
            self._state_lock.update(self.ports, self.bootstrap)
        else:
            self._create_topics()
        for name in self.services:
            self._spawn(name)
        self._wait_ready(self.services)

    def _start_broker(self, port: int) -> None:
        log_file = self.log_dir / "broker.log" if self._log_files else None
        self._broker = EmbeddedBroker(port=port, log_file=log_file, die_with_parent=True).start()
        self._say("broker", f"Tansu broker listening on {self._broker.bootstrap}")
        self._create_topics()

    def _create_topics(self) -> None:
        bootstrap = self.bootstrap
        run_coroutine(lambda: ensure_topics(KafkaSettings(kafka_bootstrap=bootstrap)))

    def pid(self, name: str) -> int | None:
        """The process id of a service, or of the embedded broker (``broker``)."""
        if name == "broker":
            return self._broker.pid if self._broker is not None else None
        process = self._processes.get(name)
        return process.popen.pid if process is not None else None

    def kill(self, name: str) -> None:
        """SIGKILL one service (as a crash would); :meth:`restart` starts it again."""
        process = self._processes.pop(name)
        process.popen.kill()
        process.popen.wait()
        process.join_output()
        if process.popen.stdout is not None:
            process.popen.stdout.close()

    def restart(self, name: str) -> None:
        """Start a service that :meth:`kill` stopped, and wait until it is ready."""
        self._spawn(name)
        self._wait_ready((name,))

    def crash(self) -> None:
        """SIGKILL every service and the embedded broker at once, as a power cut would; then clean up."""
        for process in self._processes.values():
            process.popen.kill()
        if self._broker is not None:
            self._broker.kill()
        for process in self._processes.values():
            process.popen.wait()
        self.stop()

    def restart_broker(self) -> None:
        """SIGKILL the embedded broker and start a new one on the same port: every topic, record and offset is lost."""
        if self._broker is None:
            raise StackError("the stack does not run its own broker")
        port = self._broker.port
        self._broker.kill()
        self._start_broker(port)

    def _service_env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "SHORTLIST_KAFKA_BOOTSTRAP": self.bootstrap,
                "SHORTLIST_STATE_DIR": str(self.state_dir),
            }
        )
        env.update({f"SHORTLIST_{n.upper()}_PORT": str(p) for n, p in self.ports.items()})
        env.update(self._env)
        env["SHORTLIST_API_KEYS"] = self.api_keys
        return env

    def _spawn(self, name: str) -> None:
        if self._log_files:
            self._files[name] = (self.log_dir / f"{name}.log").open("a", encoding="utf-8")
        lock = self._state_lock.fileno
        popen = subprocess.Popen(
            [sys.executable, "-m", f"shortlist.{name}"],
            env=self._service_env(name),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # The service dies with the stack even when the stack is SIGKILLed, and holds the state folder's
            # lock until it has stopped.
            preexec_fn=lifetime.die_with_parent(signal.SIGTERM),
            pass_fds=(lock,) if lock is not None else (),
        )
        self._processes[name] = _Process(name, popen, self._write_line)

    def _write_line(self, name: str, line: str) -> None:
        with self._lock:
            out = self._files.get(name)
            if out is not None and not out.closed:
                out.write(line + "\n")
                out.flush()
        if self._echo_enabled:
            self._say(name, line)

    def _say(self, name: str, line: str) -> None:
        text = Text(f"{name:<7}|", style=f"bold {COLOURS.get(name, 'white')}")
        text.append(" " + line)
        self._console.print(text, highlight=False, markup=False, soft_wrap=True)

    def _wait_ready(self, names: tuple[str, ...]) -> None:
        pending = set(names)
        deadline = time.monotonic() + self._ready_timeout
        with httpx.Client(timeout=5.0) as client:
            while pending:
                self.check()
                for name in sorted(pending):
                    try:
                        response = client.get(f"{self.url(name)}/readyz")
                    except httpx.HTTPError:
                        continue
                    if response.status_code == 200:
                        pending.discard(name)
                        self._say(name, f"ready on {self.url(name)}")
                if pending and time.monotonic() > deadline:
                    late = ", ".join(sorted(pending))
                    tails = "\n\n".join(f"--- {n} ---\n{self._processes[n].last_lines()}" for n in sorted(pending))
                    raise StackError(f"not ready after {self._ready_timeout:.0f} s: {late}\n{tails}")
                if pending:
                    time.sleep(0.25)

    def check(self) -> None:
        """Raise :class:`StackError` with the last log lines when a service process has exited."""
        for name, process in self._processes.items():
            code = process.popen.poll()
            if code is not None:
                process.join_output()
                raise StackError(f"{name} exited with code {code}; its last log lines:\n{process.last_lines()}")

    def wait(self, poll_seconds: float = 0.5) -> None:
        """Block until a service process exits (then raise) or until interrupted."""
        while True:
            self.check()
            time.sleep(poll_seconds)

    def stop(self) -> None:
        """SIGTERM every service (they drain and commit), SIGKILL what outlives the timeout, then stop the broker."""
        running = [p for p in self._processes.values() if p.popen.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout
        for process in running:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(process.name, f"did not stop within {self._stop_timeout:.0f} s; killing it")
                process.popen.kill()
                process.popen.wait()
        for process in self._processes.values():
            process.join_output()
            if process.popen.stdout is not None:
                process.popen.stdout.close()
        self._processes.clear()
        with self._lock:
            for out in self._files.values():
                out.close()
            self._files.clear()
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        self._state_lock.release()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
