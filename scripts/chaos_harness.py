"""The chaos harness: the embedded stack on free ports, a webhook receiver that counts ``webhook-id`` values, a
paced submitter that keeps submitting through every fault, and the faults themselves.

Used by ``make chaos`` (scripts/chaos.py) and by the reliability tests.
"""

import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shortlist.cli.stack import SERVICES, Stack
from shortlist.runtime.broker import free_port
from tests.documents import make_docx, make_pdf

JOB = {
    "title": "Backend engineer",
    "description": (
        "We build event-driven services.\n\n## Must have\n- Python services in production\n"
        "- Apache Kafka or another event broker\n- PostgreSQL\n\n## Nice to have\n- Kubernetes\n"
    ),
}
_FIRST = ["Ada", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Noor", "Lena"]
_LAST = ["Smith", "Okafor", "Nguyen", "Garcia", "Kowalski", "Haddad", "Larsen", "Silva", "Tanaka", "Moreau"]
_SKILLS = ["Python", "Apache Kafka", "PostgreSQL", "Kubernetes", "Go", "Java", "Redis", "Terraform", "React", "Rust"]
CV_SUFFIXES = (".pdf", ".docx", ".txt", ".md", ".html", ".rtf")


@dataclass(frozen=True)
class Document:
    filename: str
    data: bytes


def generated_cvs(count: int) -> list[Document]:
    """``count`` distinct CVs, PDF and DOCX in turn, with different names, employers and skills."""
    documents = []
    for i in range(count):
        name = f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]} {i}"
        skills = [_SKILLS[(i + k) % len(_SKILLS)] for k in range(1 + i % 5)]
        lines = [
            name,
            f"candidate{i}@example.com",
            "Summary",
            f"Engineer number {i} who builds services with {', '.join(skills)}.",
            "Experience",
            f"Engineer at Company {i % 37} ({2010 + i % 10}-2024): {skills[0]} services, on-call, code review.",
            f"Developer at Studio {i % 23} ({2005 + i % 5}-{2010 + i % 10}): {skills[-1]} and automated tests.",
            "Education",
            f"BSc Computer Science, {2000 + i % 20}",
            "Skills",
            ", ".join(skills),
        ]
        if i % 2:
            documents.append(Document(f"cv-{i:04d}.docx", make_docx(lines)))
        else:
            documents.append(Document(f"cv-{i:04d}.pdf", make_pdf(lines)))
    return documents


def folder_cvs(folder: Path, count: int) -> list[Document]:
    """Up to ``count`` CV files from ``folder`` (searched recursively), in name order."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in CV_SUFFIXES)
    return [Document(p.name, p.read_bytes()) for p in files[:count]]


class WebhookReceiver:
    """A local webhook endpoint in its own process (``chaos_receiver``) that answers 200 and logs every
    ``webhook-id`` it receives to a file in the state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.log = state_dir / "receiver.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "WebhookReceiver":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        command = [sys.executable, "-m", "scripts.chaos_receiver", str(self.port), str(self.log)]
        self._process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent)
        for _ in range(500):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"the webhook receiver did not start on port {self.port}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

    @property
    def ids(self) -> Counter[str]:
        return Counter(self.log.read_text("utf-8").split())

    @property
    def duplicated_ids(self) -> set[str]:
        return {webhook_id for webhook_id, n in self.ids.items() if n > 1}

    @property
    def received(self) -> int:
        return len(self.ids)


class Submitter(threading.Thread):
    """Submits every document once, ``pace`` seconds apart; retries through restarts until ingest accepts it."""

    def __init__(self, harness: "Harness", job_id: str, documents: Sequence[Document], pace: float) -> None:
        super().__init__(name="submitter", daemon=True)
        self._harness = harness
        self._job_id = job_id
        self._documents = list(documents)
        self._pace = pace
        self.accepted: dict[str, str] = {}  # filename -> application id
        self.refused: dict[str, str] = {}  # filename -> error code
        self.retries = 0
        self.stop_requested = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            for document in self._documents:
                if self.stop_requested.is_set():
                    return
                self._submit(client, document)
                time.sleep(self._pace)

    def _submit(self, client: httpx.Client, document: Document) -> None:
        while not self.stop_requested.is_set():
            try:
                response = client.post(
                    f"{self._harness.stack.url('ingest')}/v1/applications",
                    data={"job_id": self._job_id},
                    files={"file": (document.filename, document.data)},
                    headers=self._harness.auth,
                )
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code in (200, 202):
                self.accepted[document.filename] = response.json()["id"]
                return
            if response is not None and response.status_code < 500:
                self.refused[document.filename] = response.json().get("error", {}).get("code", str(response))
                return
            self.retries += 1  # ingest down or restarting, or the broker away (503): try again
            time.sleep(0.5)


@dataclass
class Fault:
    name: str
    submitted: int
    scored: int
    ready_after: float
    detail: str = ""

    def line(self) -> str:
        return (
            f"{self.name:<26} at {self.submitted:>4} submitted, {self.scored:>4} scored;"
            f" back and ready after {self.ready_after:5.1f} s{self.detail}"
        )


@dataclass
class Harness:
    """One chaos run's stack, receiver and state folder."""

    state_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    stack: Stack = field(init=False)
    receiver: WebhookReceiver = field(init=False)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ports = {name: free_port() for name in SERVICES}
        self.broker_port = free_port()
        self.receiver = WebhookReceiver(self.state_dir)
        self.stack = self._new_stack(api_key=None)

    def _new_stack(self, api_key: str | None) -> Stack:
        env = {
            "SHORTLIST_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "SHORTLIST_RETRY_INITIAL_SECONDS": "0.2",
            "SHORTLIST_RETRY_MAX_SECONDS": "2",
            "SHORTLIST_REDRIVE_AFTER_SECONDS": "30",
            "SHORTLIST_REDRIVE_INTERVAL_SECONDS": "5",
            **self.env,
        }
        return Stack(
            state_dir=self.state_dir,
            ports=self.ports,
            broker_port=self.broker_port,
            env=env,
            echo=False,
            api_key=api_key,
        )

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.api_key}"}

    def start(self) -> "Harness":
        self.receiver.start()
        self.stack.start()
        return self

    def stop(self) -> None:
        self.stack.stop()
        self.receiver.stop()

    def setup_job(self) -> str:
        """A job and a webhook subscription to the receiver; returns the job id."""
        with httpx.Client(timeout=60, headers=self.auth) as client:
            job = client.post(f"{self.stack.url('ingest')}/v1/jobs", json=JOB)
            job.raise_for_status()
            subscription = client.post(f"{self.stack.url('notify')}/v1/subscriptions", json={"url": self.receiver.url})
            subscription.raise_for_status()
            return str(job.json()["id"])

    def _timed(self, name: str, submitted: int, scored: int, action: "Iterator[str]") -> Fault:
        started = time.monotonic()
        detail = "".join(action)
        fault = Fault(name, submitted, scored, time.monotonic() - started, detail)
        self.faults.append(fault)
        return fault

    def kill_and_restart(self, service: str, submitted: int, scored: int) -> Fault:
        def act() -> Iterator[str]:
            pid = self.stack.pid(service)
            self.stack.kill(service)
            self.stack.restart(service)
            yield f" (pid {pid} SIGKILLed)"

        return self._timed(f"SIGKILL {service}", submitted, scored, act())

    def restart_broker(self, submitted: int, scored: int) -> Fault:
        def act() -> Iterator[str]:
            pid = self.stack.pid("broker")
            self.stack.restart_broker()
            yield f" (pid {pid} SIGKILLed; every topic, record and offset lost)"

        return self._timed("broker restart", submitted, scored, act())

    def restart_everything(self, submitted: int, scored: int) -> Fault:
        def act() -> Iterator[str]:
            pids = [self.stack.pid(name) for name in ("broker", *SERVICES)]
            self.stack.crash()
            self.stack = self._new_stack(api_key=self.stack.api_key)
            self.stack.start()
            yield f" (pids {', '.join(str(p) for p in pids)} SIGKILLed at once)"

        return self._timed("whole-stack restart", submitted, scored, act())


def temporary_state() -> Path:
    return Path(tempfile.mkdtemp(prefix="shortlist-chaos-"))
