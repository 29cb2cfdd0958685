"""``make bench-pipeline PATH=<folder of PDFs>``: what a user gets, upload to score, through all four services.

On the embedded stack (Tansu broker and the four services as their own processes, started by the CLI's
``Stack`` on free ports, default settings), in one run:

1. the bare embedding model (the service's embedder and settings, in this process) on the chunks of the
   same CVs, before the pipeline run: the bound of the whole pipeline on this machine;
2. ``--cvs`` PDFs (the folder's PDFs, cycled; a cycled copy gets a PDF comment appended so ingest does not
   take it for a duplicate) submitted over REST against one job, as fast as ingest takes them: CVs/s from
   the first upload to the last ``CvScored`` on ``cv.scored.v1``, p50/p95 from each upload to its score,
   CPU seconds and resident memory of every process, and the embed model's busy time (its /metrics);
3. the bare model again (its mean with 1. is the bound; the shared machine's speed drifts);
4. one 2-page CV at a time on the idle stack, ``--idle-runs`` times: upload to scored.
"""

import argparse
import asyncio
import itertools
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from scripts.benchmarks_doc import load_at_start, write_section
from scripts.eval_corpus import JOBS_DIR
from scripts.pipeline_probe import Processes, cv_texts, two_page_pdf
from shortlist.cli.stack import SERVICES, Stack
from shortlist.embed.config import Settings as EmbedSettings
from shortlist.embed.embedder import create_embedder
from shortlist.runtime.broker import EmbeddedBroker, free_port
from shortlist.runtime.topics import CV_SCORED
from shortlist.v1 import score_pb2

TARGET_RATIO, TARGET_IDLE_P95 = 0.85, 1.5
UPLOADS_AT_ONCE = 8


@dataclass
class Figures:
    cvs: int = 0
    chunks: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    bound_before: float = 0.0
    """CVs/s of the bare model on the same CVs' chunks."""
    bound_after: float = 0.0
    idle: list[float] = field(default_factory=list)
    usage: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    """Per process: CPU seconds during the run, resident MiB at its end, peak resident MiB."""
    model_busy: float = 0.0
    embedder: str = ""

    @property
    def throughput(self) -> float:
        return self.cvs / self.seconds

    @property
    def bound(self) -> float:
        return (self.bound_before + self.bound_after) / 2


def pdfs(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
    if not files:
        raise SystemExit(f"no PDF under {folder}")
    return files


def uploads(files: list[Path], count: int) -> list[tuple[str, bytes]]:
    """``count`` documents cycling through ``files``; the n-th copy of a file ends with a PDF comment."""
    out = []
    for n, path in enumerate(itertools.islice(itertools.cycle(files), count)):
        data = path.read_bytes()
        copy = n // len(files)
        out.append((path.name, data + f"\n% copy {copy}\n".encode() if copy else data))
    return out


class Scores:
    """Reads ``cv.scored.v1`` from its end: when each application was scored."""

    def __init__(self, bootstrap: str) -> None:
        # A short fetch wait: the broker holds an empty fetch this long, which would add to every latency.
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
        self.at: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        partitions = [TopicPartition(CV_SCORED, p) for p in self._consumer.partitions_for_topic(CV_SCORED) or ()]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    scored = score_pb2.CvScored()
                    scored.ParseFromString(record.value or b"")
                    self.at.setdefault(scored.application_id, now)

    async def wait(self, ids: set[str], within: float) -> None:
        deadline = time.perf_counter() + within
        while not ids <= self.at.keys():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{len(ids - self.at.keys())} CVs were not scored within {within:.0f} s")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


async def submit(client: httpx.AsyncClient, job_id: str, name: str, data: bytes) -> tuple[str, float]:
    started = time.perf_counter()
    response = await client.post(
        "/v1/applications", data={"job_id": job_id}, files={"file": (name, data, "application/pdf")}
    )
    if response.status_code != 202:
        raise RuntimeError(f"ingest answered {response.status_code} for {name}: {response.text[:300]}")
    return str(response.json()["id"]), started


async def run_load(stack: Stack, job_id: str, documents: list[tuple[str, bytes]], figures: Figures) -> None:
    processes = Processes.of_children()
    scores = Scores(stack.bootstrap)
    await scores.start()
    gate = asyncio.Semaphore(UPLOADS_AT_ONCE)
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=headers, timeout=120) as client:

        async def one(name: str, data: bytes) -> tuple[str, float]:
            async with gate:
                return await submit(client, job_id, name, data)

        busy_before = await model_busy(stack)
        cpu_before = processes.cpu_seconds()
        started = time.perf_counter()
        submitted = await asyncio.gather(*(one(n, d) for n, d in documents))
        await scores.wait({i for i, _ in submitted}, within=3600)
        figures.seconds = max(scores.at[i] for i, _ in submitted) - started
        cpu = {n: s - cpu_before.get(n, 0.0) for n, s in processes.cpu_seconds().items()}
        figures.model_busy = await model_busy(stack) - busy_before
    await scores.stop()
    figures.cvs = len(submitted)
    figures.latencies = [scores.at[i] - t for i, t in submitted]
    memory = processes.memory()
    figures.usage = {n: (cpu.get(n, 0.0), *memory.get(n, (0.0, 0.0))) for n in processes.names}


async def model_busy(stack: Stack) -> float:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{stack.url('embed')}/metrics")).text
    for line in text.splitlines():
        if line.startswith("shortlist_embed_batch_seconds_sum "):
            return float(line.split()[1])
    return 0.0


async def idle_runs(stack: Stack, job_id: str, document: bytes, runs: int) -> list[float]:
    scores = Scores(stack.bootstrap)
    await scores.start()
    latencies = []
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.url("ingest"), headers=headers, timeout=60) as client:
        for n in range(runs + 1):
            application, started = await submit(client, job_id, "two-pages.pdf", document + f"\n% idle {n}\n".encode())
            await scores.wait({application}, within=120)
            if n:  # the first one warms the path up
                latencies.append(scores.at[application] - started)
            await asyncio.sleep(0.5)
    await scores.stop()
    return latencies


def bound(texts: list[list[str]]) -> float:
    """CVs/s of the bare model, the service's embedder and settings, on all the CVs' chunks in one call."""
    settings = EmbedSettings()
    model = create_embedder(settings)
    model.load()
    flat = [t for cv in texts for t in cv]
    model.embed(flat[: settings.embed_batch_size])
    started = time.perf_counter()
    model.embed(flat)
    return len(texts) / (time.perf_counter() - started)


def bench(folder: Path, count: int, runs: int) -> Figures:
    figures = Figures(embedder=EmbedSettings().embedder)
    documents = uploads(pdfs(folder), count)
    texts = cv_texts(documents)
    figures.chunks = sum(len(t) for t in texts)
    two_pages = two_page_pdf(pdfs(folder))
    description = sorted(JOBS_DIR.glob("*.md"))[0].read_text()
    ports = {name: free_port() for name in SERVICES}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(log_file=Path(tmp) / "broker.log") as broker:
        env = {"SHORTLIST_LOG_LEVEL": "WARNING"}
        with Stack(state_dir=tmp, ports=ports, bootstrap=broker.bootstrap, env=env, echo=False) as stack:
            job = httpx.post(
                f"{stack.url('ingest')}/v1/jobs",
                json={"title": description.splitlines()[0].lstrip("# "), "description": description},
                headers={"Authorization": f"Bearer {stack.api_key}"},
                timeout=60,
            ).json()
            job_id = str(job["id"])
            time.sleep(3)  # the job's requirements reach the vector store before the clock starts
            figures.bound_before = bound(texts)
            print(f"bare model: {figures.bound_before:.2f} CVs/s ({figures.chunks} chunks)", flush=True)
            asyncio.run(run_load(stack, job_id, documents, figures))
            print(f"pipeline: {figures.throughput:.2f} CVs/s", flush=True)
            figures.bound_after = bound(texts)
            print(f"bare model again: {figures.bound_after:.2f} CVs/s", flush=True)
            figures.idle = asyncio.run(idle_runs(stack, job_id, two_pages, runs))
    return figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(figures: Figures, folder: Path) -> str:
    ratio = figures.throughput / figures.bound
    p95_idle = percentile(figures.idle, 0.95)
    usage = "\n".join(
        f"| {name} | {cpu:.1f} | {cpu / figures.seconds:.0%} | {rss:.0f} | {peak:.0f} |"
        for name, (cpu, rss, peak) in figures.usage.items()
    )
    return (
        f"{figures.cvs} PDFs from `{folder}` (cycled), {figures.chunks} chunks, one job, embedder "
        f"`{figures.embedder}`, default settings, {UPLOADS_AT_ONCE} uploads in flight; "
        f"{load_at_start()}.\n\n"
        "| figure | value |\n|---|---:|\n"
        f"| pipeline CVs/s, first upload to last score | **{figures.throughput:.2f}** |\n"
        f"| upload to scored, p50 / p95 (s) | {percentile(figures.latencies, 0.5):.1f} / "
        f"{percentile(figures.latencies, 0.95):.1f} |\n"
        f"| bare model on the same chunks, CVs/s (before / after) | {figures.bound:.2f} "
        f"({figures.bound_before:.2f} / {figures.bound_after:.2f}) |\n"
        f"| pipeline / bare model | **{ratio:.0%}** (target >= {TARGET_RATIO:.0%}: "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}) |\n"
        f"| embed model busy during the run, summed over its workers | {figures.model_busy:.1f} s in "
        f"{figures.seconds:.1f} s ({figures.model_busy / figures.seconds:.2f} workers busy on average) |\n"
        f"| idle stack, one 2-page CV, upload to scored, p50 / p95 over {len(figures.idle)} runs (s) | "
        f"{percentile(figures.idle, 0.5):.2f} / **{p95_idle:.2f}** (target p95 < {TARGET_IDLE_P95} s: "
        f"{'met' if p95_idle < TARGET_IDLE_P95 else 'NOT met'}) |\n\n"
        "CPU and memory of each process over the run (CPU seconds; share of one core; resident MiB at the end; "
        "peak resident MiB):\n\n"
        "| process | CPU s | of one core | RSS MiB | peak RSS MiB |\n|---|---:|---:|---:|---:|\n"
        f"{usage}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cvs", type=int, default=500)
    parser.add_argument("--idle-runs", type=int, default=20)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder (make bench-pipeline PATH=<folder of PDFs>)")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    figures = bench(args.folder, args.cvs, args.idle_runs)
    body = report(figures, args.folder)
    print(body)
    if not args.no_doc:
        write_section("bench-pipeline", f"make bench-pipeline PATH={args.folder}", body)


if __name__ == "__main__":
    main()
