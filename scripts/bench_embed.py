"""``make bench-embed``: the embedding model alone vs the embed service end to end, on the same chunks.

Generates CVs of realistic text, cuts them into the exact chunks the service will embed, and then, twice,
back to back: (a) the model alone on those pre-made chunks (all-MiniLM-L6-v2, 2 threads, batch 16), and
(b) the embed service as its own process (``python -m shortlist.embed``) against an embedded broker, timed
from the first CvIngested published to the last CvEmbedded read on ``cv.embedded.v1``.
"""

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from scripts.benchmarks_doc import write_section
from shortlist.embed.config import Settings
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.handlers import cv_chunks
from shortlist.runtime.broker import EmbeddedBroker, free_port
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CV_EMBEDDED, CV_INGESTED, dlt, ensure_topics
from shortlist.v1 import common_pb2, cv_pb2, jobs_pb2

THREADS = 2
BATCH = 16
TARGET = 0.90

FIRST = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn"]
LAST = ["Smith", "Okafor", "Nguyen", "Garcia", "Kowalski", "Haddad", "Larsen", "Silva", "Tanaka", "Moreau"]
ROLES = [
    "Backend engineer",
    "Data engineer",
    "Platform engineer",
    "Site reliability engineer",
    "Software developer",
    "Machine learning engineer",
    "Engineering manager",
    "DevOps engineer",
    "Full-stack developer",
    "QA engineer",
]
COMPANIES = [
    "Cloudly",
    "Paybright",
    "Northwind Logistics",
    "Helio Health",
    "Quantix",
    "Brightpath",
    "Veridian Bank",
    "Orbit Retail",
    "Lumen Analytics",
    "Tidewater Energy",
]
TECH = [
    "Python",
    "Go",
    "Java",
    "Kotlin",
    "TypeScript",
    "PostgreSQL",
    "Kafka",
    "Kubernetes",
    "Terraform",
    "AWS",
    "GCP",
    "Redis",
    "Spark",
    "Airflow",
    "Docker",
    "gRPC",
    "React",
    "Django",
    "FastAPI",
    "Elasticsearch",
]
ACTIONS = [
    "designed and built {t} services handling {n} requests per second for {c} customers",
    "migrated the legacy billing platform to {t}, cutting infrastructure costs by {p} percent",
    "led a team of {k} engineers delivering a {t} data pipeline that processes {n} events a day",
    "introduced automated testing and continuous delivery with {t}, reducing release time from days to hours",
    "operated {t} clusters across three regions with on-call rotation and incident reviews",
    "improved query latency by {p} percent by redesigning indexes and caching with {t}",
    "mentored junior developers, ran code reviews and wrote the team's engineering guidelines",
    "worked with product managers and designers to ship features used by {n} people every week",
    "built monitoring dashboards and alerting with Prometheus and Grafana for {t} workloads",
    "replaced a monolith with event-driven microservices on {t}, improving reliability and deploy frequency",
    "wrote internal tooling in {t} that saved the support team about {k} hours each week",
    "drove the security review of the payment flow and fixed issues found in penetration tests",
]
DEGREES = [
    "BSc Computer Science",
    "MSc Data Science",
    "BEng Software Engineering",
    "BSc Mathematics",
    "MSc Artificial Intelligence",
    "BA Economics",
]
UNIVERSITIES = [
    "University of Leeds",
    "TU Delft",
    "University of Toronto",
    "ETH Zurich",
    "University of Lagos",
    "Universidad de Chile",
]
PROJECTS = [
    "an open-source library for rate limiting written in {t}, with {n} stars and regular contributors",
    "a hobby project that forecasts energy usage from smart-meter data with {t} and scikit-learn",
    "a volunteer platform for a local food bank built with {t}, handling rota planning and donations",
    "a talk at a regional conference about running {t} in production without surprises",
]
REQUIREMENTS = [
    ("Five or more years building backend services in Python or Go", common_pb2.REQUIREMENT_KIND_MUST),
    ("Experience operating Kubernetes in production", common_pb2.REQUIREMENT_KIND_MUST),
    ("Relational databases such as PostgreSQL, including query tuning", common_pb2.REQUIREMENT_KIND_MUST),
    ("Event streaming with Kafka or a similar platform", common_pb2.REQUIREMENT_KIND_MUST),
    ("Infrastructure as code with Terraform", common_pb2.REQUIREMENT_KIND_NICE),
    ("Experience mentoring engineers or leading a small team", common_pb2.REQUIREMENT_KIND_NICE),
]


def _sentence(rng: random.Random, template: str) -> str:
    text = template.format(
        t=rng.choice(TECH),
        n=rng.choice(["2,000", "15,000", "40,000", "1.2 million"]),
        c=rng.choice(["retail", "enterprise", "public-sector"]),
        p=rng.randint(15, 70),
        k=rng.randint(3, 12),
    )
    return text[0].upper() + text[1:] + "."


def generate_cv(rng: random.Random, application_id: str, job_id: str) -> cv_pb2.CvIngested:
    """A CvIngested as ingest publishes it: sections with spans, name and email as PII spans."""
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    email = f"{name.lower().replace(' ', '.')}@example.com"
    sections: dict[str, str] = {}
    years = rng.randint(4, 15)
    sections["summary"] = "Summary\n" + " ".join(
        [f"{rng.choice(ROLES)} with {years} years of experience in {rng.choice(TECH)} and {rng.choice(TECH)}."]
        + [_sentence(rng, rng.choice(ACTIONS)) for _ in range(6)]
    )
    roles = []
    for _ in range(3):
        start = rng.randint(2008, 2020)
        roles.append(
            f"{rng.choice(ROLES)} at {rng.choice(COMPANIES)} ({start}-{start + rng.randint(1, 4)})\n"
            + "\n".join(f"- {_sentence(rng, rng.choice(ACTIONS))}" for _ in range(rng.randint(6, 8)))
        )
    sections["experience"] = "Experience\n" + "\n\n".join(roles)
    sections["projects"] = "Projects\n" + "\n".join(
        f"- {_sentence(rng, rng.choice(PROJECTS))}" for _ in range(rng.randint(4, 6))
    )
    sections["education"] = (
        f"Education\n{rng.choice(DEGREES)}, {rng.choice(UNIVERSITIES)}, {rng.randint(2000, 2018)}. "
        "Final project on distributed systems; graduated with honours."
    )
    sections["skills"] = "Skills\n" + ", ".join(rng.sample(TECH, 10)) + ". Languages: English, Spanish."
    text = f"{name}\n{email}\n\n"
    spans = []
    for section, body in sections.items():
        start = len(text)
        text += body
        spans.append(common_pb2.Section(name=section, span=common_pb2.Span(start=start, end=len(text))))
        text += "\n\n"
    cv = cv_pb2.CvIngested(
        application_id=application_id,
        job_id=job_id,
        candidate_id=f"cand-{application_id}",
        text=text,
        redacted_text=text.replace(name, "[NAME]").replace(email, "[EMAIL]"),
        parse_quality=1.0,
        content_type="text/plain",
    )
    cv.sections.extend(spans)
    cv.pii.add(kind="name", span=common_pb2.Span(start=0, end=len(name)))
    cv.pii.add(kind="email", span=common_pb2.Span(start=len(name) + 1, end=len(name) + 1 + len(email)))
    return cv


def fixed_chunks(texts: list[str], words: int = 140, count: int = 160) -> list[str]:
    """``count`` chunks of ``words`` words each (~180 word pieces) cut from ``texts``."""
    pool = " ".join(texts).split()
    return [" ".join(pool[i * words : (i + 1) * words]) for i in range(min(count, len(pool) // words))]


@dataclass
class Run:
    raw_180_chunks_per_s: float
    raw_before: float
    raw_after: float
    sorted_chunks_per_s: float
    service_seconds: float
    cvs: int
    chunks: int
    model_busy_seconds: float = 0.0
    model_calls: float = 0.0

    @property
    def service_chunks_per_s(self) -> float:
        return self.chunks / self.service_seconds

    @property
    def raw_chunks_per_s(self) -> float:
        """The raw model right before and right after the service, averaged (the machine's speed drifts)."""
        return (self.raw_before + self.raw_after) / 2

    @property
    def ratio(self) -> float:
        return self.service_chunks_per_s / self.raw_chunks_per_s

    @property
    def sorted_ratio(self) -> float:
        return self.service_chunks_per_s / self.sorted_chunks_per_s


def raw_throughput(model: MiniLmEmbedder, texts: list[str]) -> float:
    """Chunks/s of the model alone: the whole list in one sentence-transformers ``encode`` call.

    ``encode`` sorts the whole list by length (characters) before cutting it into batches of ``BATCH``.
    """
    encoder = model._get()
    started = time.perf_counter()
    encoder.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return len(texts) / (time.perf_counter() - started)


def sorted_throughput(model: MiniLmEmbedder, texts: list[str]) -> float:
    """Chunks/s of the model alone through the service's own path (tokenised once, sorted by word pieces)."""
    started = time.perf_counter()
    model.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def start_service(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "shortlist.embed"], env=env, stdout=out, stderr=out)


async def model_time(port: int) -> tuple[float, float, float]:
    """Seconds the service's model has run, its calls and the texts it got, from its /metrics."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in (
            "shortlist_embed_batch_seconds_sum",
            "shortlist_embed_batch_seconds_count",
            "shortlist_embed_batch_texts_sum",
        ):
            values[name] = float(value)
    return (
        values.get("shortlist_embed_batch_seconds_sum", 0.0),
        values.get("shortlist_embed_batch_seconds_count", 0.0),
        values.get("shortlist_embed_batch_texts_sum", 0.0),
    )


async def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = await asyncio.to_thread(lambda: log.read_text(errors="replace")[-3000:])
                raise RuntimeError(f"the embed service exited with {process.returncode}:\n{tail}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("the embed service did not become ready")


async def service_run(kafka: KafkaSettings, cvs: list[cv_pb2.CvIngested], job: jobs_pb2.JobPosted) -> tuple[float, int]:
    """Seconds from the first CvIngested published to the last CvEmbedded read, and the chunks they report."""
    producer = EventProducer(kafka, "bench")
    await producer.start()
    reader = AIOKafkaConsumer(bootstrap_servers=kafka.kafka_bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in (CV_EMBEDDED, dlt(CV_INGESTED))
            for p in reader.partitions_for_topic(topic) or ()
        ]
        reader.assign(partitions)
        await reader.seek_to_end(*partitions)
        await producer.publish(job, key=job.job_id)
        await asyncio.sleep(3)  # the job's requirements are stored before the clock starts
        wanted = {cv.application_id for cv in cvs}
        chunks = 0
        started = time.perf_counter()
        await asyncio.gather(*(producer.publish(cv, key=cv.application_id) for cv in cvs))
        while wanted:
            batches = await reader.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                for raw in records:
                    if tp.topic != CV_EMBEDDED:
                        raise RuntimeError("a CV was dead-lettered during the benchmark")
                    message = cv_pb2.CvEmbedded()
                    message.ParseFromString(raw.value or b"")
                    if message.application_id in wanted:
                        wanted.discard(message.application_id)
                        chunks += message.chunk_count
            if time.perf_counter() - started > 1800:
                raise TimeoutError(f"{len(wanted)} CVs never came out")
        return time.perf_counter() - started, chunks
    finally:
        await reader.stop()
        await producer.stop()


@contextlib.asynccontextmanager
async def embed_service(
    embedder: str, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[KafkaSettings, int, int]]:
    """An embedded broker with the topics and the embed service with ``embedder`` on a free port, ready; yields the
    broker's settings, the service's port and its process id."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(log_file=Path(tmp) / "broker.log") as broker:
        kafka = KafkaSettings(kafka_bootstrap=broker.bootstrap)
        await ensure_topics(kafka)
        port = free_port()
        service_env = {
            **os.environ,
            "SHORTLIST_KAFKA_BOOTSTRAP": broker.bootstrap,
            "SHORTLIST_EMBED_PORT": str(port),
            "SHORTLIST_STATE_DIR": str(Path(tmp) / "embed"),
            "SHORTLIST_EMBEDDER": embedder,
            "SHORTLIST_EMBED_THREADS": str(THREADS),
            "SHORTLIST_EMBED_WORKERS": "1",
            "SHORTLIST_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        log = Path(tmp) / "embed.log"
        process = start_service(service_env, log)
        try:
            await wait_ready(port, process, log)
            yield kafka, port, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


async def bench(cv_count: int, rounds: int) -> tuple[list[Run], str]:
    rng = random.Random(7)
    settings = Settings()
    job_id = f"job-bench-{uuid.uuid4().hex[:6]}"
    job = jobs_pb2.JobPosted(
        job_id=job_id, version=1, title="Backend engineer", advance_threshold=70, reject_threshold=40
    )
    for index, (text, kind) in enumerate(REQUIREMENTS, start=1):
        job.requirements.add(id=f"{job_id}-r{index}", text=text, kind=kind)
    model = MiniLmEmbedder(threads=THREADS, batch_size=BATCH)
    model.load()
    model.embed([f"warm-up {i}" for i in range(BATCH)])
    runs: list[Run] = []
    tokens = ""
    reference = ""
    # The model measured raw here is fp32 (int8 against fp32: bench_embedders).
    async with embed_service("minilm", {"SHORTLIST_EMBED_BATCH_SIZE": str(BATCH)}) as (kafka, port, _):
        for number in range(1, rounds + 1):
            cvs = [generate_cv(rng, f"app-{number}-{i:04d}", job_id) for i in range(cv_count)]
            texts = [t for cv in cvs for t in cv_chunks(cv, settings)[1]]
            if not tokens:
                mean, longest = token_stats(model, texts)
                tokens = f"{mean:.0f} word pieces per chunk on average, {longest} at most"
                print(tokens, flush=True)
            uniform = fixed_chunks(texts)
            if not reference:
                mean, _ = token_stats(model, uniform)
                reference = f"{len(uniform)} chunks of {mean:.0f} word pieces"
            raw_180 = raw_throughput(model, uniform)
            raw = raw_throughput(model, texts)
            by_tokens = sorted_throughput(model, texts)
            print(
                f"round {number}: raw model {raw:.1f} chunks/s on the service's {len(texts)} chunks, "
                f"{raw_180:.1f} chunks/s on {reference}; the model alone with the service's sorting "
                f"{by_tokens:.1f} chunks/s",
                flush=True,
            )
            before = await model_time(port)
            seconds, chunks = await service_run(kafka, cvs, job)
            after = await model_time(port)
            raw_after = raw_throughput(model, texts)
            busy, calls = after[0] - before[0], after[1] - before[1]
            print(
                f"round {number}: model busy {busy:.1f} s of {seconds:.1f} s in {calls:.0f} calls "
                f"({(after[2] - before[2]) / max(calls, 1):.1f} chunks per call)",
                flush=True,
            )
            if chunks != len(texts):
                raise RuntimeError(f"the service embedded {chunks} chunks, expected {len(texts)}")
            run = Run(raw_180, raw, raw_after, by_tokens, seconds, len(cvs), chunks, busy, calls)
            runs.append(run)
            print(
                f"round {number}: raw model after the service {raw_after:.1f} chunks/s; "
                f"service {run.cvs / seconds:.2f} CVs/s, {run.service_chunks_per_s:.1f} chunks/s "
                f"({run.ratio:.0%} of raw, {run.sorted_ratio:.0%} of the model alone with the service's sorting)",
                flush=True,
            )
    return runs, f"{tokens}; reference: {reference}"


def token_stats(model: MiniLmEmbedder, texts: list[str]) -> tuple[float, int]:
    tokenizer = model._get().tokenizer
    lengths = [len(tokenizer(t)["input_ids"]) for t in texts]
    return statistics.mean(lengths), max(lengths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cvs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-doc", action="store_true", help="print the figures without writing docs/benchmarks.md")
    args = parser.parse_args()
    runs, tokens = asyncio.run(bench(args.cvs, args.rounds))
    rows = "\n".join(
        f"| {n} | {r.raw_180_chunks_per_s:.1f} | {r.raw_before:.1f} / {r.raw_after:.1f} | {r.raw_chunks_per_s:.1f} | "
        f"{r.cvs / r.service_seconds:.2f} | "
        f"{r.service_chunks_per_s:.1f} | **{r.ratio:.0%}** | {r.model_busy_seconds / r.service_seconds:.0%} | "
        f"{r.chunks / max(r.model_calls, 1):.0f} | {r.sorted_chunks_per_s:.1f} | {r.sorted_ratio:.0%} |"
        for n, r in enumerate(runs, start=1)
    )
    worst = min(r.ratio for r in runs)
    verdict = "met" if worst >= TARGET else "NOT met"
    body = (
        f"{runs[0].cvs} generated CVs per round ({runs[0].chunks} chunks, the same chunk texts the service "
        f"embeds; {tokens}), "
        f"all-MiniLM-L6-v2 with {THREADS} torch threads and batch {BATCH}. Raw: the model alone on the pre-made "
        "chunks in one sentence-transformers `encode` call (it sorts all of them by length in characters). "
        "Service: `python -m shortlist.embed` as its own process against the "
        "embedded broker, from the first CvIngested published to the last CvEmbedded read on "
        f"`{CV_EMBEDDED}` (job published before the clock starts). Per round: raw, service, raw again, back "
        "to back; the raw figure is the mean of the two, since the shared machine's speed drifts. "
        "Model busy: the share of the service's time its model was running (from its /metrics). "
        "Last two columns, for comparison: the model alone through the service's own embedding path "
        "(all chunks tokenised once and sorted by word pieces in one call, which pads less than `encode`) "
        "and the service as a share of that.\n\n"
        "| round | raw, ~180-token chunks/s | raw chunks/s, before / after | raw chunks/s | service CVs/s "
        "| service chunks/s | service / raw "
        "| model busy | chunks per model call | model alone, sorted by word pieces, chunks/s | service / that |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        f"{rows}\n\n"
        f"Target: service >= {TARGET:.0%} of raw: {verdict} (lowest round {worst:.0%})."
    )
    print(body)
    if not args.no_doc:
        write_section("bench-embed", "make bench-embed", body)


if __name__ == "__main__":
    main()
