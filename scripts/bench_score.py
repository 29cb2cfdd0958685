"""LLM scorer throughput: one score process against a local OpenAI-compatible server answering after 1 s.

``python -m scripts.bench_score [--cvs N] [--rounds R]``: per round, starts an embedded broker and the fault-free
fake server (a separate process), publishes N distinct CvEmbedded (4 requirements each: 4 assessments and a summary
per CV), runs the score service in this process and measures CVs/s from the moment it is assigned its partitions
until all are scored. Reports every round and the median.
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import REGISTRY

from scripts.benchmarks_doc import write_section
from shortlist.runtime.broker import EmbeddedBroker, free_port, wait_for_port
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import ensure_topics
from shortlist.score.app import build
from shortlist.score.config import Settings
from shortlist.score.metrics import SCORES
from tests.score.factory import STRONG_CV, WEAK_CV, make_embedded

LLM_DELAY = 1.0


def settings_for(bootstrap: str, llm_url: str, state: Path) -> Settings:
    return Settings(
        kafka_bootstrap=bootstrap,
        scorer="llm",
        llm_base_url=llm_url,
        llm_model="fake-model",
        openai_api_key="bench",
        llm_timeout_seconds=10,
        llm_budget_seconds=60,
        llm_max_concurrency=512,
        llm_requests_per_minute=30_000,
        llm_tokens_per_minute=30_000_000,
        consumer_concurrency=128,
        consumer_batch_size=512,
        consumer_poll_ms=100,
        state_dir=state,
        port=free_port(),
    )


def all_scored() -> float:
    """CVs scored so far; reads only this counter (collecting the whole registry on every poll costs the service's
    event loop more than the reading is worth)."""
    return sum(
        sample.value
        for metric in SCORES.collect()
        for sample in metric.samples
        if sample.name == "shortlist_scores_total" and sample.labels.get("scorer") == "llm"
    )


async def run(cvs: int, settings: Settings) -> tuple[float, float, float]:
    """CVs/s, seconds and mean seconds per CV for ``cvs`` CVs published before the service starts."""
    kafka = KafkaSettings(kafka_bootstrap=settings.kafka_bootstrap)
    await ensure_topics(kafka)
    producer = EventProducer(kafka, "bench")
    await producer.start()
    for i in range(cvs):
        base = STRONG_CV if i % 2 else WEAK_CV
        chunks = [(f"{text} Reference {i}.", sims) for text, sims in base]
        embedded = make_embedded(chunks, application_id=f"bench-{i}")
        # The summary call reads the job title and the assessments, not the CV: a title of its own per CV keeps
        # it from being answered from the cache, so every CV costs its five calls.
        embedded.job_title = f"Backend engineer, team {i}"
        await producer.publish(embedded, key=f"bench-{i}")
    await producer.stop()

    service, _ = build(settings)
    before = all_scored()
    seconds_before = scoring_seconds()
    async with service.running():
        while await service.readiness() is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        while all_scored() - before < cvs:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
    return cvs / elapsed, elapsed, (scoring_seconds() - seconds_before) / max(1.0, all_scored() - before)


def scoring_seconds() -> float:
    return REGISTRY.get_sample_value("shortlist_scoring_seconds_sum", {"scorer": "llm"}) or 0.0


def llm_calls() -> tuple[float, float]:
    """LLM calls answered by the server, and calls answered from the response cache."""
    answered = REGISTRY.get_sample_value("shortlist_llm_calls_total", {"model": "fake-model", "outcome": "ok"})
    cached = REGISTRY.get_sample_value("shortlist_llm_cache_total", {"result": "hit"})
    return answered or 0.0, cached or 0.0


def measure(cvs: int) -> tuple[float, float, float, Settings]:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(log_file=Path(tmp) / "broker.log") as broker:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.score.fake_llm", "--port", str(port), "--delay", str(LLM_DELAY)],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port, timeout=30)
            settings = settings_for(broker.bootstrap, f"http://127.0.0.1:{port}/v1", Path(tmp) / "state")
            rate, elapsed, mean = asyncio.run(run(cvs, settings))
        finally:
            server.terminate()
            server.wait(10)
    return rate, elapsed, mean, settings


@dataclass(frozen=True)
class Round:
    rate: float
    elapsed: float
    mean: float
    calls: int
    cached: int


def one_round(cvs: int) -> tuple[Round, Settings]:
    answered, cached = llm_calls()
    rate, elapsed, mean, settings = measure(cvs)
    after = llm_calls()
    return Round(rate, elapsed, mean, int(after[0] - answered), int(after[1] - cached)), settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cvs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="each with a fresh broker, server and service")
    args = parser.parse_args()
    rounds: list[Round] = []
    for n in range(1, args.rounds + 1):
        result, s = one_round(args.cvs)
        rounds.append(result)
        print(
            f"round {n}: {args.cvs} CVs ({result.calls} LLM calls, {LLM_DELAY:.0f} s each; {result.cached} from the "
            f"cache) in {result.elapsed:.1f} s: {result.rate:.1f} CVs/s, {result.mean:.2f} s per CV"
        )
    median = statistics.median(r.rate for r in rounds)
    print(f"throughput, median of {len(rounds)} rounds: {median:.1f} CVs/s")
    print(
        f"consumer concurrency {s.consumer_concurrency} records/partition x {s.kafka_partitions} partitions, "
        f"LLM concurrency {s.llm_max_concurrency}, rate limit {s.llm_requests_per_minute:.0f} requests/min "
        f"and {s.llm_tokens_per_minute:.0f} tokens/min"
    )
    rows = "\n".join(
        f"| {n} | {args.cvs} | {r.calls} | {r.cached} | {r.elapsed:.1f} | {r.rate:.1f} | {r.mean:.2f} |"
        for n, r in enumerate(rounds, start=1)
    )
    body = f"""LLM scorer (`SHORTLIST_SCORER=llm`), one score process in process on an embedded broker, against the
fault-free fake OpenAI-compatible server (`tests/score/fake_llm.py`, its own process) answering every call after
{LLM_DELAY:.0f} s. {args.cvs} distinct CVs per round, 4 requirements each: 4 assessment calls at once, then the summary
call (5 calls, about 2 s per CV). Each CV has a job title of its own, so no summary is answered from the response
cache (the summary reads the title and the assessments, not the CV): every CV costs its five calls. Each round has a
fresh broker, server and service. Configuration: consumer concurrency {s.consumer_concurrency} x \
{s.kafka_partitions} partitions, LLM concurrency {s.llm_max_concurrency}, {s.llm_requests_per_minute:.0f} \
requests/min and {s.llm_tokens_per_minute:.0f} tokens/min; the OpenAI client on its aiohttp transport.

| round | CVs | LLM calls | from the cache | seconds | CVs/s | s per CV |
|---|---|---|---|---|---|---|
{rows}

Median: **{median:.1f} CVs/s**.

The configuration allows `consumer concurrency x partitions` CVs in flight (512 here, about 2 s each: 256 CVs/s)
and `requests/min / 60 / 5` CVs/s by the rate limit (100 here). Neither is what bounds these runs: the score
process keeps one core busy (profiled: about half of it in the OpenAI client building and sending requests), so
the CPU per call sets the rate, and the figure moves with the machine's speed (on this shared machine, runs of the
same code differ by 20 % and more)."""
    write_section("bench-score", "make bench-score", body)


if __name__ == "__main__":
    main()
