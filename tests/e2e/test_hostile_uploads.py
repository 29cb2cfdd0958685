"""Hostile documents through the real ingest process: each answered with a clear JSON error, its memory bounded.

The ingest process's resident memory is sampled every few milliseconds while the requests run; its peak may
not grow by more than a generous bound, far below what reading any of these inputs whole would take (the
zip bomb alone inflates to 200 MB).
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from shortlist.cli.stack import Stack
from tests.documents import make_docx_bomb, make_encrypted_pdf, make_pdf
from tests.e2e.test_pipeline import CV_LINES, JOB, auth

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

MEMORY_BOUND = 150 * 1024 * 1024
BOMB_EXPANDED = 200 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def service_process(stack: Stack, name: str) -> psutil.Process:
    for child in psutil.Process().children(recursive=True):
        try:
            if child.cmdline()[-2:] == ["-m", f"shortlist.{name}"] and child.environ().get(
                "SHORTLIST_STATE_DIR"
            ) == str(stack.state_dir):
                return child
        except psutil.Error:
            continue
    raise AssertionError(f"no {name} process of the stack at {stack.state_dir}")


class PeakRss:
    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = process.memory_info().rss

    @contextmanager
    def sampling(self, every: float = 0.005) -> Iterator[None]:
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(every):
                self.peak = max(self.peak, self.process.memory_info().rss)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def nested_html(depth: int) -> bytes:
    body = "<div>" * depth + "<p>Jo Bloggs, engineer</p>" + "</div>" * depth
    return f"<!DOCTYPE html><html><body>{body}</body></html>".encode()


async def test_hostile_documents_get_clear_errors_and_the_service_memory_stays_bounded(
    stack: Stack, tmp_path: Path
) -> None:
    ingest = service_process(stack, "ingest")
    bomb = make_docx_bomb(BOMB_EXPANDED)
    assert len(bomb) < 1024 * 1024
    huge = b"Jo Bloggs, engineer. " * (20 * 1024 * 1024 // 21 + 1)
    locked = make_encrypted_pdf(CV_LINES)
    cases = [
        ("a DOCX zip bomb", ("bomb.docx", bomb, DOCX), 413, "too_large"),
        ("an encrypted PDF", ("locked.pdf", locked, "application/pdf"), 422, "encrypted_document"),
        ("HTML nested 10,000 deep", ("deep.html", nested_html(10_000), "text/html"), 422, "too_deeply_nested"),
        ("a 20 MB upload", ("huge.txt", huge, "text/plain"), 413, "too_large"),
    ]
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=auth(stack), timeout=120) as client:
        job = (await client.post("/v1/jobs", json=JOB)).json()
        warm_up = await client.post(
            "/v1/applications", data={"job_id": job["id"]}, files={"file": ("cv.pdf", make_pdf(CV_LINES))}
        )
        assert warm_up.status_code == 202, warm_up.text
        memory = PeakRss(ingest)
        before = memory.peak
        with memory.sampling():
            for what, upload, status, code in cases:
                answer = await client.post("/v1/applications", data={"job_id": job["id"]}, files={"file": upload})
                assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text[:300]}"
                assert answer.headers["content-type"] == "application/json"
                error = answer.json()["error"]
                assert error["code"] == code, f"{what}: {error}"
                assert error["message"], what
            as_json = await client.post(
                "/v1/applications",
                content=b'{"job_id": "%s", "text": "' % job["id"].encode() + huge + b'"}',
                headers={"content-type": "application/json"},
            )
            assert as_json.status_code == 413 and as_json.json()["error"]["code"] == "too_large", as_json.text[:300]
        growth = memory.peak - before
        print(f"\ningest RSS before {before / 2**20:.0f} MiB, peak growth {growth / 2**20:.1f} MiB")
        assert growth < MEMORY_BOUND, f"ingest's memory grew by {growth / 2**20:.0f} MiB"
        assert (await client.get("/healthz")).status_code == 200
        after = await client.post(
            "/v1/applications",
            data={"job_id": job["id"]},
            files={"file": ("next.pdf", make_pdf([*CV_LINES, "Rust"]), "application/pdf")},
        )
        assert after.status_code == 202, after.text
