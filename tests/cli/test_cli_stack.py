"""Process management of `Stack`, with tiny stand-in services generated in a temporary folder.

The real services are started together by the end-to-end tests; here only the launcher is under test.
"""

import os
import socket
import textwrap
from pathlib import Path

import httpx
import pytest

from shortlist.cli.stack import Stack, StackError, resolve_api_keys
from shortlist.runtime.broker import EmbeddedBroker, free_port

READY_AFTER_TWO_PROBES = """
import os, signal, sys
from fastapi import FastAPI
from fastapi.responses import JSONResponse
import uvicorn

app = FastAPI()
probes = 0

@app.get("/readyz")
def readyz():
    global probes
    probes += 1
    return JSONResponse({"status": "ready"} if probes > 2 else {"error": {}}, status_code=200 if probes > 2 else 503)

@app.get("/env")
def env():
    return {k: v for k, v in os.environ.items() if k.startswith("SHORTLIST_")}

port = int(os.environ["SHORTLIST_{NAME}_PORT"])
print("starting on a port", flush=True)
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
server.run()
print("drained and stopped", flush=True)
"""

CRASHES = """
print("loading the model", flush=True)
raise SystemExit("the model file is missing")
"""


def stand_in(root: Path, name: str, source: str) -> None:
    package = root / "shortlist" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(textwrap.dedent(source).replace("{NAME}", name.upper()))


@pytest.fixture
def stand_ins(tmp_path: Path) -> dict[str, str]:
    root = tmp_path / "stand_ins"
    stand_in(root, "clifake", READY_AFTER_TWO_PROBES)
    stand_in(root, "clicrash", CRASHES)
    return {"PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


def test_stack_waits_for_readiness_passes_settings_and_stops(
    broker: EmbeddedBroker, stand_ins: dict[str, str], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    stack = Stack(
        state_dir=state,
        ports={"clifake": free_port()},
        bootstrap=broker.bootstrap,
        env={**stand_ins, "SHORTLIST_EXTRA": "yes"},
        services=("clifake",),
        echo=False,
    )
    with stack:
        answer = httpx.get(f"{stack.url('clifake')}/readyz")
        assert answer.status_code == 200
        env = httpx.get(f"{stack.url('clifake')}/env").json()
        assert env["SHORTLIST_KAFKA_BOOTSTRAP"] == broker.bootstrap
        assert env["SHORTLIST_STATE_DIR"] == str(state)
        assert env["SHORTLIST_EXTRA"] == "yes"
        assert env["SHORTLIST_API_KEYS"] == stack.api_key and len(stack.api_key) > 20
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stack.url('clifake')}/readyz")
    log = (state / "logs" / "clifake.log").read_text()
    assert "starting on a port" in log and "drained and stopped" in log


def test_a_service_that_dies_is_reported_with_its_last_lines(
    broker: EmbeddedBroker, stand_ins: dict[str, str], tmp_path: Path
) -> None:
    stack = Stack(
        state_dir=tmp_path,
        ports={"clifake": free_port(), "clicrash": free_port()},
        bootstrap=broker.bootstrap,
        env=stand_ins,
        services=("clifake", "clicrash"),
        echo=False,
    )
    with pytest.raises(StackError) as error:
        stack.start()
    assert "clicrash exited with code 1" in str(error.value)
    assert "the model file is missing" in str(error.value)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stack.url('clifake')}/readyz")


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = Stack(state_dir=tmp_path, ports={"ingest": port}, bootstrap="127.0.0.1:1", services=("ingest",))
        with pytest.raises(StackError, match=f"ingest \\({port}\\)"):
            stack.start()


def test_api_keys_are_generated_unless_given() -> None:
    generated, client_key = resolve_api_keys(None, {})
    assert generated == client_key and client_key != resolve_api_keys(None, {})[1]
    assert resolve_api_keys("mine", {}) == ("mine", "mine")
    configured = "ops:jobs:read, admin"
    assert resolve_api_keys(None, {"SHORTLIST_API_KEYS": configured}) == (configured, "ops")
    assert resolve_api_keys("admin", {"SHORTLIST_API_KEYS": configured}) == (configured, "admin")
