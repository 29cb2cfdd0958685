"""Writes one benchmark's section of docs/benchmarks.md, leaving the other sections as they are."""

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
_LOAD_AT_START = os.getloadavg()[0]


def load_at_start() -> str:
    """The 1-minute load average when the benchmark started: others' work on the cores moves every figure."""
    return f"load average {_LOAD_AT_START:.1f} on {os.cpu_count()} cores when it started"


HEADER = "# Benchmarks\n\nEach section is written by the command it names; rerun it to refresh the figures.\n"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, {platform.system()}"


def write_section(name: str, command: str, body: str) -> None:
    """Replace the section ``name`` (or append it) with the figures in ``body`` (Markdown)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    section = (
        f"<!-- {name} -->\n## {name}\n\n"
        f"- command: `{command}`\n- machine: {machine()}\n- when: {stamp}"
        + (f", commit {commit}" if commit else "")
        + f"\n\n{body.strip()}\n<!-- /{name} -->\n"
    )
    text = DOC.read_text() if DOC.exists() else HEADER
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->\n", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text)
