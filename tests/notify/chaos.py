"""Helpers for tests that run scripts/webhook_receiver.py and endpoints that never answer."""

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from shortlist.runtime.broker import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def receiver_process(fail_ratio: float, seed: int = 7) -> Iterator[str]:
    """The base URL of a scripts/webhook_receiver.py process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.webhook_receiver", str(port), str(fail_ratio), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/_stats", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base
    finally:
        process.kill()
        process.wait()


@contextlib.contextmanager
def dead_endpoint() -> Iterator[str]:
    """A port that accepts connections into its backlog and never answers: every request times out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def register_secrets(base: str, secrets: dict[str, str]) -> None:
    async with httpx.AsyncClient() as client:
        (await client.post(f"{base}/_secrets", json=secrets)).raise_for_status()


async def stats(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{base}/_stats")
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found


async def wait_accepted(base: str, paths: list[str], count: int, within: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = await stats(base)
        if all(len(found.get(p, {}).get("accepted", {})) >= count for p in paths) or loop.time() > deadline:
            return found
        await asyncio.sleep(0.25)
