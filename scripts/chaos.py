"""``make chaos``: a few hundred real CVs through the embedded stack while every part of it is killed in turn.

While the CVs flow, each service is SIGKILLed and restarted, the broker is restarted (it keeps nothing), and
the whole stack is SIGKILLed at once and started again on the same state folder. Then: every application scored
exactly once, no webhook delivered twice, none stuck, consumer lag back to zero. One line per fault, and the
result, go to the terminal and to docs/reliability.md.
"""

import argparse
import platform
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scripts.benchmarks_doc import load_at_start, machine
from scripts.chaos_checks import SCORED, Outcome, settle, statuses
from scripts.chaos_harness import Document, Fault, Harness, Submitter, folder_cvs, generated_cvs, temporary_state
from shortlist.cli.stack import SERVICES

DOC = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
BEGIN, END = "<!-- make chaos: begin -->", "<!-- make chaos: end -->"


def faults(harness: Harness) -> list[tuple[str, Callable[[int, int], Fault]]]:
    """Every service killed and restarted in turn, then the broker, then everything at once."""
    schedule: list[tuple[str, Callable[[int, int], Fault]]] = [
        (name, lambda s, c, name=name: harness.kill_and_restart(name, s, c))  # type: ignore[misc]
        for name in SERVICES
    ]
    schedule.append(("broker", harness.restart_broker))
    schedule.append(("stack", harness.restart_everything))
    return schedule


def _while_webhooks_flow(harness: Harness, more: int = 3, within: float = 60.0) -> None:
    """Return as soon as the receiver gets ``more`` new webhooks (at most ``within`` s): notify is killed mid-burst."""
    before = harness.receiver.ids.total()
    deadline = time.monotonic() + within
    while harness.receiver.ids.total() < before + more and time.monotonic() < deadline:
        time.sleep(0.01)


def run(documents: list[Document], pace: float, timeout: float, say: Callable[[str], None]) -> tuple[Harness, Outcome]:
    harness = Harness(temporary_state()).start()
    try:
        job_id = harness.setup_job()
        submitter = Submitter(harness, job_id, documents, pace)
        submitter.start()
        schedule = faults(harness)
        for index, (name, inject) in enumerate(schedule, start=1):
            threshold = index * len(documents) // (len(schedule) + 1)
            while len(submitter.accepted) < threshold and submitter.is_alive():
                time.sleep(0.2)
            if name in ("notify", "stack"):
                _while_webhooks_flow(harness)
            accepted = list(submitter.accepted.values())
            status = statuses(harness.state_dir)
            fault = inject(len(accepted), sum(1 for a in accepted if status.get(a) in SCORED))
            say(f"fault {index}: {fault.line()}")
        submitter.join()
        result = settle(harness, list(submitter.accepted.values()), timeout)
        result.refused = submitter.refused
        return harness, result
    finally:
        harness.stop()


def write_doc(lines: list[str], command: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(
        [
            BEGIN,
            f"`{command}` on {stamp}, {machine()} ({load_at_start()}):",
            "",
            "```",
            *lines,
            "```",
            END,
        ]
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Reliability\n"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: body, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Chaos run (`make chaos`)\n\n" + body + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default="", help="CV files to submit (default: generated CVs)")
    parser.add_argument("--cvs", type=int, default=300, help="how many CVs to submit")
    parser.add_argument("--pace", type=float, default=0.2, help="seconds between two submissions")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the stack to settle")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/reliability.md")
    args = parser.parse_args(argv)
    documents = folder_cvs(Path(args.folder), args.cvs) if args.folder else generated_cvs(args.cvs)
    if not documents:
        print(f"no CV files in {args.folder}", file=sys.stderr)
        return 2
    source = f"from {args.folder}" if args.folder else "generated (PDF and DOCX in turn)"
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    say(f"{len(documents)} CVs {source}, one every {args.pace:g} s; faults while they flow:")
    harness, result = run(documents, args.pace, args.timeout, say)
    say(f"result: {result.line()}")
    if result.refused:
        say(f"refused by ingest (not counted as submitted): {len(result.refused)}")
    for application_id in result.stuck[:10]:
        say(f"stuck: {application_id}")
    for application_id, status in list(result.failed.items())[:10]:
        say(f"failed: {application_id} ({status})")
    say("verdict: " + ("PASS" if result.ok else "FAIL"))
    if not args.no_doc:
        command = "make chaos" + (f" PATH={args.folder}" if args.folder else "")
        write_doc(lines, command)
        print(f"written to {DOC}", file=sys.stderr)
    print(f"state and logs kept in {harness.state_dir} ({platform.node()})", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
