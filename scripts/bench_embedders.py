"""``make bench-embed``, second part: the int8 embedder (ONNX Runtime) against fp32 (torch), side by side.

In one run, with the same threads and batch size for both: chunks/s of each model alone on the same chunks
(rounds alternate fp32, int8, so the shared machine's drift hits both), the cosine between the two vectors of
every chunk, the embed service's resident memory with each (its own process against an embedded broker, after
embedding the same CVs), and, given a folder of category folders of CVs, the ranking evaluation's mean ROC-AUC
of the rubric scorer with each. Figures go to ``docs/embedding.md``.

    python -m scripts.bench_embedders [folder] [--cvs N] [--rounds N] [--no-doc]
"""

import argparse
import asyncio
import random
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.bench_embed import REQUIREMENTS, embed_service, generate_cv, service_run
from scripts.benchmarks_doc import load_at_start, machine
from scripts.eval_corpus import prepare
from scripts.eval_methods import rubric_scores
from scripts.eval_report import evaluate
from shortlist.embed.config import Settings
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.handlers import cv_chunks
from shortlist.embed.local_model import LocalModel
from shortlist.embed.onnx_embedder import OnnxMiniLmEmbedder
from shortlist.v1 import jobs_pb2

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "embedding.md"
THREADS = 2
BATCH = 16
SPEEDUP, COSINE, AUC_GAP = 2.0, 0.99, 0.005


@dataclass
class Side:
    name: str
    chunks_per_s: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    peak_mb: float = 0.0
    torch_loaded: bool = False
    auc: float | None = None


def process_memory(pid: int) -> tuple[float, float, bool]:
    """Resident and peak resident MiB of a process, and whether it has torch's library mapped."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = float(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    peak = float(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    return rss, peak, "libtorch" in Path(f"/proc/{pid}/maps").read_text()


async def service_memory(embedder: str, cv_count: int) -> tuple[float, float, bool]:
    """The embed service with ``embedder`` embeds ``cv_count`` CVs; then its memory."""
    rng = random.Random(11)
    job = jobs_pb2.JobPosted(job_id="job-mem", version=1, title="Backend engineer")
    for index, (text, kind) in enumerate(REQUIREMENTS, start=1):
        job.requirements.add(id=f"job-mem-r{index}", text=text, kind=kind)
    cvs = [generate_cv(rng, f"mem-{i:04d}", job.job_id) for i in range(cv_count)]
    async with embed_service(embedder) as (kafka, _, pid):
        await service_run(kafka, cvs, job)
        return process_memory(pid)


def throughput(model: LocalModel, texts: list[str]) -> float:
    started = time.perf_counter()
    model.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def ranking_auc(folder: Path, model: LocalModel) -> float:
    corpus = prepare(folder, embedder=model)
    return evaluate(corpus, rubric_scores(corpus)).mean_auc


def run(folder: Path | None, cv_count: int, rounds: int) -> str:
    settings = Settings()
    rng = random.Random(5)
    texts = [t for i in range(cv_count) for t in cv_chunks(generate_cv(rng, f"app-{i}", "job"), settings)[1]]
    fp32, int8 = MiniLmEmbedder(THREADS, BATCH), OnnxMiniLmEmbedder(THREADS, BATCH)
    sides = {"fp32": Side("fp32 (torch)"), "int8": Side("int8 (ONNX Runtime)")}
    for model in (fp32, int8):
        model.load()
        model.embed(texts[:BATCH])
    for number in range(1, rounds + 1):
        for key, model in (("fp32", fp32), ("int8", int8)):
            sides[key].chunks_per_s.append(throughput(model, texts))
        fp, q = sides["fp32"].chunks_per_s[-1], sides["int8"].chunks_per_s[-1]
        print(f"round {number}: fp32 {fp:.1f}, int8 {q:.1f} chunks/s", flush=True)
    cosine = (fp32.embed(texts) * int8.embed(texts)).sum(axis=1)
    print(f"cosine int8 vs fp32 over {len(texts)} chunks: mean {cosine.mean():.4f}, min {cosine.min():.4f}")
    ratios = [b / a for a, b in zip(sides["fp32"].chunks_per_s, sides["int8"].chunks_per_s, strict=True)]
    if folder is not None:
        for key, model in (("fp32", fp32), ("int8", int8)):
            sides[key].auc = ranking_auc(folder, model)
            print(f"eval-ranking rubric mean ROC-AUC with {key}: {sides[key].auc:.4f}")
    for key, name in (("fp32", "minilm"), ("int8", "minilm-int8")):
        side = sides[key]
        side.rss_mb, side.peak_mb, side.torch_loaded = asyncio.run(service_memory(name, 60))
        print(f"embed service with {name}: RSS {side.rss_mb:.0f} MiB, peak {side.peak_mb:.0f} MiB", flush=True)
    return report(sides, ratios, float(cosine.mean()), float(cosine.min()), len(texts), cv_count, folder)


def report(
    sides: dict[str, Side],
    ratios: list[float],
    mean_cos: float,
    min_cos: float,
    chunks: int,
    cvs: int,
    folder: Path | None,
) -> str:
    fp32, int8 = sides["fp32"], sides["int8"]
    speedup = statistics.median(ratios)
    rows = []
    for side in (fp32, int8):
        rates = ", ".join(f"{r:.1f}" for r in side.chunks_per_s)
        auc = f"{side.auc:.4f}" if side.auc is not None else "not run (no folder)"
        rows.append(
            f"| {side.name} | {statistics.median(side.chunks_per_s):.1f} ({rates}) | {auc} | "
            f"{side.rss_mb:.0f} | {side.peak_mb:.0f} | {'yes' if side.torch_loaded else 'no'} |"
        )
    checks = [
        f"int8 / fp32 chunks/s, median of the rounds: **{speedup:.2f}x** "
        f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"target >= {SPEEDUP}x: {'met' if speedup >= SPEEDUP else 'NOT met'})",
        f"cosine between the int8 and the fp32 vector of each chunk: mean **{mean_cos:.4f}**, lowest {min_cos:.4f} "
        f"(target mean >= {COSINE}: {'met' if mean_cos >= COSINE else 'NOT met'})",
    ]
    if fp32.auc is not None and int8.auc is not None:
        gap = int8.auc - fp32.auc
        checks.append(
            f"eval-ranking mean ROC-AUC (rubric) int8 - fp32: **{gap:+.4f}** on `{folder}` "
            f"(target within {AUC_GAP}: {'met' if abs(gap) <= AUC_GAP else 'NOT met'})"
        )
    else:
        checks.append("eval-ranking: not run (give the folder: `make bench-embed PATH=<folder of category folders>`)")
    under = "met" if int8.rss_mb < 600 else "NOT met"
    checks.append(f"embed service RSS with int8: {int8.rss_mb:.0f} MiB (target < 600: {under})")
    return (
        f"- machine: {machine()} ({load_at_start()})\n"
        f"- {chunks} chunks of {cvs} generated CVs (the service's own chunking), {THREADS} intra-op threads and "
        f"batch {BATCH} for both, each model alone through the service's embedding path (tokenised once, "
        "sorted by word pieces); rounds alternate fp32 and int8.\n"
        "- RSS: the embed service (`python -m shortlist.embed`) against an embedded broker after embedding 60 "
        "CVs; torch: whether the process has torch's library mapped.\n\n"
        "| embedder | chunks/s, median (rounds) | eval-ranking mean ROC-AUC | service RSS MiB | peak RSS MiB "
        "| torch loaded |\n|---|---:|---:|---:|---:|---|\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(f"- {c}" for c in checks)
    )


def write_doc(body: str, command: str) -> None:
    start, end = "<!-- bench-embedders -->", "<!-- /bench-embedders -->"
    section = f"{start}\n- command: `{command}`\n{body}\n{end}"
    text = DOC.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## int8 against fp32, measured\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", nargs="?", default="", help="category folders of CVs for the ranking evaluation")
    parser.add_argument("--cvs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    folder = Path(args.folder) if args.folder else None
    body = run(folder, args.cvs, args.rounds)
    print(body)
    if not args.no_doc:
        write_doc(
            body, f"python -m scripts.bench_embedders {folder or ''}".strip() + " (the second half of make bench-embed)"
        )


if __name__ == "__main__":
    main()
