"""The whole embedded stack, as `shortlist up` runs it, on its own broker and ports, with a webhook receiver."""

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request

from shortlist.cli.stack import Stack
from shortlist.runtime.broker import EmbeddedBroker, free_port
from tests.e2e.keys import api_keys_spec
from tests.score.fake_llm import FakeLlm, create_app


@dataclass
class Receiver:
    url: str
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    app = FastAPI()
    port = free_port()
    received = Receiver(url=f"http://127.0.0.1:{port}/hook")

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        received.deliveries.append((dict(request.headers), await request.body()))
        return {"status": "ok"}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield received
    server.should_exit = True
    thread.join(timeout=5)


@contextlib.contextmanager
def _serve(app: FastAPI, port: int) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield
    server.should_exit = True
    thread.join(timeout=5)


@dataclass
class Llm:
    """The stack's LLM endpoint: a local OpenAI-compatible server (the only faked outside service)."""

    url: str
    fake: FakeLlm


@pytest.fixture(scope="package")
def llm() -> Iterator[Llm]:
    fake = FakeLlm(retry_after="0.2")
    port = free_port()
    with _serve(create_app(fake), port):
        yield Llm(f"http://127.0.0.1:{port}/v1", fake)


@pytest.fixture(scope="package")
def stack_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_file=tmp_path_factory.mktemp("e2e-broker") / "tansu.log") as running:
        yield running


@pytest.fixture(scope="package")
def stack(stack_broker: EmbeddedBroker, llm: Llm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state_dir: Path = tmp_path_factory.mktemp("e2e-state")
    ports = {name: free_port() for name in ("ingest", "embed", "score", "notify")}
    env = {
        "SHORTLIST_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "SHORTLIST_RETRY_INITIAL_SECONDS": "0.1",
        "SHORTLIST_RETRY_MAX_SECONDS": "1",
        # The LLM scorer, as in production, against the local OpenAI-compatible server.
        "SHORTLIST_SCORER": "llm",
        "SHORTLIST_LLM_BASE_URL": llm.url,
        "SHORTLIST_LLM_BACKOFF_INITIAL_SECONDS": "0.05",
        "SHORTLIST_GAUGE_REFRESH_SECONDS": "1",
        "SHORTLIST_API_KEYS": api_keys_spec(),
    }
    with Stack(state_dir=state_dir, bootstrap=stack_broker.bootstrap, ports=ports, env=env) as running:
        yield running
