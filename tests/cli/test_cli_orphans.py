"""No orphans: a stack killed with SIGKILL takes its services and broker with it; one stack per state folder."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from shortlist.cli.stack import Stack, StackError
from shortlist.runtime.broker import EmbeddedBroker, free_port
from tests.cli.test_cli_stack import stand_ins  # noqa: F401  (fixture)

DRIVER = """
import json, sys, time
from pathlib import Path
from shortlist.cli.stack import Stack
stack = Stack(state_dir=Path(sys.argv[1]), ports={"clifake": int(sys.argv[2])}, services=("clifake",),
              broker_port=int(sys.argv[3]), echo=False).start()
print(json.dumps({"service": stack.pid("clifake"), "broker": stack.pid("broker")}), flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent's reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], within: float = 30.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux only")
def test_services_and_broker_die_with_a_stack_killed_by_sigkill_and_a_new_stack_starts_there(
    stand_ins: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    state, port, broker_port = tmp_path / "state", free_port(), free_port()
    driver = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(DRIVER), str(state), str(port), str(broker_port)],
        env={**os.environ, **stand_ins},
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert driver.stdout is not None
        pids = json.loads(driver.stdout.readline())
        assert alive(pids["service"]) and alive(pids["broker"])
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        assert wait_gone([pids["service"], pids["broker"]]) == []
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    # Nothing holds the ports or the state folder any more: a new stack starts on the same ones.
    with Stack(
        state_dir=state,
        ports={"clifake": port},
        services=("clifake",),
        broker_port=broker_port,
        env=stand_ins,
        echo=False,
    ) as again:
        assert httpx.get(f"{again.url('clifake')}/readyz").status_code == 200


def test_a_second_stack_on_the_same_state_folder_is_refused_with_the_first_one_named(
    broker: EmbeddedBroker,
    stand_ins: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    def stack(port: int) -> Stack:
        return Stack(
            state_dir=tmp_path,
            ports={"clifake": port},
            bootstrap=broker.bootstrap,
            env=stand_ins,
            services=("clifake",),
            echo=False,
        )

    first_port = free_port()
    first = stack(first_port)
    with first:
        second = stack(free_port())
        with pytest.raises(StackError) as refused:
            second.start()
        message = str(refused.value)
        assert "already running" in message and str(tmp_path) in message
        assert f"pid {os.getpid()}" in message and f"clifake {first_port}" in message
        # The refusal touched nothing of the running stack.
        assert httpx.get(f"{first.url('clifake')}/readyz").status_code == 200
    with stack(free_port()):
        pass
