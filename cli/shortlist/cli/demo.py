"""``shortlist demo``: the sample job and CVs through the whole embedded stack, then the ranked shortlist."""

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from shortlist.cli.api import ApiError, IngestClient
from shortlist.cli.jobfile import parse_job
from shortlist.cli.render import ranking_table
from shortlist.cli.stack import Stack, available_ports, ports_from_env

CV_SUFFIXES = (".pdf", ".docx", ".txt", ".md", ".html")
DONE = ("scored", "notified")
TERMINAL = (*DONE, "failed")


@dataclass
class Submission:
    path: Path
    application_id: str | None = None
    error: str | None = None
    status: str = "pending"


def candidate_name(path: Path) -> str:
    """``amara-okafor.pdf`` -> ``Amara Okafor`` (the sample files are named after their fictional candidates)."""
    return " ".join(part.capitalize() for part in path.stem.replace("_", "-").split("-") if part)


def progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def submit_files(
    client: IngestClient, job_id: str, files: list[Path], console: Console, names: bool = False
) -> list[Submission]:
    """Upload each file with a progress bar; errors are kept per file, the others still go."""
    results = [Submission(path) for path in files]
    with progress(console) as bar:
        task = bar.add_task("uploading", total=len(results))
        for item in results:
            bar.update(task, description=f"uploading {item.path.name}")
            try:
                answer = client.submit(job_id, item.path, candidate_name(item.path) if names else None)
            except ApiError as exc:
                item.error = str(exc)
                item.status = "rejected"
            except OSError as exc:
                item.error = f"cannot read the file: {exc.strerror or exc}"
                item.status = "rejected"
            else:
                item.application_id = str(answer["id"])
                item.status = str(answer.get("status", "ingested"))
            bar.advance(task)
    return results


def wait_until_scored(
    client: IngestClient, submissions: list[Submission], console: Console, timeout: float, poll: float = 1.0
) -> None:
    """Poll each accepted application until it is scored or failed, or until ``timeout``."""
    pending = [s for s in submissions if s.application_id and s.status not in TERMINAL]
    deadline = time.monotonic() + timeout
    with progress(console) as bar:
        task = bar.add_task("screening", total=len(pending))
        while pending and time.monotonic() < deadline:
            for item in list(pending):
                assert item.application_id is not None
                try:
                    answer = client.application(item.application_id)
                except ApiError as exc:
                    if exc.status is None or exc.status >= 500:
                        continue
                    raise
                item.status = str(answer.get("status", item.status))
                if item.status == "failed":
                    failure = answer.get("failure") or {}
                    item.error = f"{failure.get('step', '?')}: {failure.get('code', '?')}: {failure.get('message', '')}"
                if item.status in TERMINAL:
                    pending.remove(item)
                    bar.advance(task)
            counts = {s: sum(1 for p in pending if p.status == s) for s in {p.status for p in pending}}
            bar.update(task, description="screening " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
            if pending:
                time.sleep(poll)
    for item in pending:
        item.error = f"still {item.status} after {timeout:.0f} s"


def run_demo(
    examples: Path, state_dir: Path, console: Console, out: Console, timeout: float = 300.0, api_key: str | None = None
) -> int:
    """Returns the exit code: 0 when every sample CV was scored."""
    job = parse_job((examples / "job.md").read_text(encoding="utf-8"))
    files = sorted(p for p in (examples / "cvs").iterdir() if p.suffix.lower() in CV_SUFFIXES)
    if state_dir.exists():
        shutil.rmtree(state_dir)
    stack = Stack(
        state_dir=state_dir, ports=available_ports(ports_from_env()), console=console, echo=False, api_key=api_key
    )
    with console.status("starting the broker and the four services (the embedding model takes a few seconds)"):
        stack.start()
    try:
        console.print(f"[green]stack ready[/] — ingest at {stack.url('ingest')}, logs in {stack.log_dir}")
        with IngestClient(stack.url("ingest"), stack.api_key) as client:
            posted = client.create_job(job.title, job.description)
            job_id = str(posted["id"])
            console.print(
                f"job [bold]{posted.get('title', job.title)}[/] ({job_id}) with "
                f"{len(posted.get('requirements') or [])} requirements"
            )
            submissions = submit_files(client, job_id, files, console, names=True)
            wait_until_scored(client, submissions, console, timeout)
            ranking = client.ranking(job_id)
        out.print(ranking_table(ranking, title=f"Shortlist for {posted.get('title', job.title)}"))
        problems = [s for s in submissions if s.status not in DONE]
        for item in problems:
            console.print(f"[red]{item.path.name}[/]: {item.error or item.status}")
        if problems:
            console.print(f"[red]{len(problems)} of {len(submissions)} sample CVs were not scored[/]")
            return 1
        console.print(f"[green]all {len(submissions)} sample CVs scored[/]")
        return 0
    finally:
        with console.status("stopping the stack"):
            stack.stop()
