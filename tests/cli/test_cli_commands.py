"""The command line: help of every command, and the ingest calls against a real HTTP server."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import APIRouter, Request
from typer.testing import CliRunner

from shortlist.cli.main import app
from shortlist.runtime.broker import free_port
from shortlist.runtime.http import ApiError, create_app

COMMANDS = [
    [],
    ["up"],
    ["jobs"],
    ["jobs", "create"],
    ["submit"],
    ["ranking"],
    ["redrive"],
    ["status"],
    ["tail"],
    ["dlt"],
    ["dlt", "list"],
    ["dlt", "replay"],
    ["demo"],
]

runner = CliRunner()


@dataclass
class FakeIngest:
    """A real HTTP server with the ingest routes the commands call, recording what it received."""

    url: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)


@pytest.fixture(scope="module")
def ingest() -> Iterator[FakeIngest]:
    port = free_port()
    state = FakeIngest(url=f"http://127.0.0.1:{port}")
    router = APIRouter()

    @router.post("/v1/jobs", status_code=201)
    async def create_job(request: Request) -> dict[str, Any]:
        body = await request.json()
        state.jobs.append(body)
        state.auth.append(request.headers.get("authorization"))
        return {"id": "job-42", "version": 1, "title": body["title"], "requirements": [], **body}

    @router.get("/v1/jobs/{job_id}/ranking")
    async def ranking(job_id: str) -> dict[str, Any]:
        if job_id != "job-42":
            raise ApiError(404, "job_not_found", f"no job {job_id}")
        item = {
            "application_id": "app-1",
            "candidate_name": "Ada Example",
            "score": 87.5,
            "recommendation": "advance",
            "status": "scored",
            "top_evidence": [{"requirement": "Python", "quote": "Nine years of Python"}],
        }
        return {"job_id": job_id, "total": 1, "items": [item]}

    async def ready() -> None:
        return None

    server = uvicorn.Server(
        uvicorn.Config(create_app("ingest", ready, [router]), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield state
    server.should_exit = True
    thread.join(timeout=5)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "shortlist")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_jobs_create_posts_title_from_heading_and_prints_the_id(ingest: FakeIngest, tmp_path: Path) -> None:
    job = tmp_path / "job.md"
    job.write_text("# Site Reliability Engineer\n\n## Must have\n- Kubernetes\n", encoding="utf-8")
    result = runner.invoke(app, ["--ingest-url", ingest.url, "--api-key", "k1", "jobs", "create", str(job)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "job-42"
    assert ingest.jobs[-1] == {"title": "Site Reliability Engineer", "description": "## Must have\n- Kubernetes"}
    assert ingest.auth[-1] == "Bearer k1"


def test_ranking_prints_a_table(ingest: FakeIngest) -> None:
    result = runner.invoke(app, ["--ingest-url", ingest.url, "ranking", "job-42"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Ada Example" in result.output and "87.5" in result.output and "Nine years of Python" in result.output


def test_api_errors_are_readable_and_exit_1(ingest: FakeIngest) -> None:
    result = runner.invoke(app, ["--ingest-url", ingest.url, "ranking", "nope"])
    assert result.exit_code == 1
    assert "job_not_found" in result.output and "no job nope" in result.output
    assert "Traceback" not in result.output


def test_unreachable_api_is_a_clear_error(tmp_path: Path) -> None:
    job = tmp_path / "job.md"
    job.write_text("# Engineer\n\nPython.\n", encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["--ingest-url", url, "jobs", "create", str(job)])
    assert result.exit_code == 1
    assert "unreachable" in result.output and "shortlist up" in result.output


def test_empty_job_file_is_refused_before_any_request(tmp_path: Path) -> None:
    job = tmp_path / "empty.md"
    job.write_text("\n", encoding="utf-8")
    result = runner.invoke(app, ["--ingest-url", "http://127.0.0.1:9", "jobs", "create", str(job)])
    assert result.exit_code == 1
    assert "empty" in result.output
