"""Capacity plan from the measured figures in docs/benchmarks.md (``make capacity``).

For 10k, 100k and 1M CVs a day, with the rubric and with the LLM scorer: replicas per service, the CPU and
memory they request (per replica as in deploy/k8s/base/services), the LLM request rate and the Qdrant memory.
The table is printed and written into docs/deploy.md between ``<!-- capacity -->`` markers (a test keeps
them equal).
"""

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SERVICES_DIR = ROOT / "deploy" / "k8s" / "base" / "services"

VOLUMES = (10_000, 100_000, 1_000_000)
SCORERS = ("rubric", "llm")
PEAK_FACTOR = 3.0
"""The busiest hour carries three times the day's average rate (CVs arrive in office hours and in batches)."""
TARGET_UTILISATION = 0.6
"""Replicas busy at most 60 % at the peak, so a backlog drains while new CVs keep arriving."""
MIN_REPLICAS = 2
"""prod never runs fewer than two replicas of a service (rollouts and node drains)."""
QDRANT_REPLICATION = 2


@dataclass(frozen=True)
class Figures:
    ingest_cvs_per_core: float
    embed_cvs_per_replica: float
    score_llm_cvs_per_core: float
    llm_calls_per_cv: float
    chunks_per_cv: float
    qdrant_gb_per_100k_chunks: float


def _section(text: str, name: str) -> str:
    match = re.search(rf"<!-- {name} -->(.*?)<!-- /{name} -->", text, re.S)
    if not match:
        raise ValueError(f"docs/benchmarks.md has no {name} section")
    return match.group(1)


def _rows(section: str, header: str) -> list[dict[str, str]]:
    """The rows, by column name, of the first table that has a column named ``header``."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines() if "|" in line]
    for i, row in enumerate(rows):
        if header in row:
            body = []
            for cells in rows[i + 2 :]:
                if len(cells) != len(row):
                    break
                body.append(dict(zip(row, cells, strict=True)))
            return body
    raise ValueError(f"no table with a column {header!r}")


def _number(text: str) -> float:
    return float(re.sub(r"[*,%]|GB", "", text).strip())


def read_figures(text: str) -> Figures:
    ingest = re.search(r"ingest's whole extraction: ([\d.]+) PDFs/s/core", _section(text, "bench-ingest"))
    embed = _section(text, "bench-embed")
    chunks = re.search(r"(\d+) generated CVs per round \((\d+) chunks", embed)
    score = _section(text, "bench-score")
    median = re.search(r"Median: \*\*([\d.]+) CVs/s\*\*", score)
    if not (ingest and chunks and median):
        raise ValueError("docs/benchmarks.md lacks a figure the capacity plan reads")
    rounds = _rows(score, "LLM calls")
    edge = next(r for r in _rows(_section(text, "bench-search"), "memory held") if r["store"] == "Qdrant Edge")
    return Figures(
        ingest_cvs_per_core=float(ingest.group(1)),
        embed_cvs_per_replica=min(_number(r["service CVs/s"]) for r in _rows(embed, "service CVs/s")),
        score_llm_cvs_per_core=float(median.group(1)),
        llm_calls_per_cv=sum(_number(r["LLM calls"]) for r in rounds) / sum(_number(r["CVs"]) for r in rounds),
        chunks_per_cv=int(chunks.group(2)) / int(chunks.group(1)),
        qdrant_gb_per_100k_chunks=_number(edge["memory held"]) / _number(edge["points"]) * 100_000,
    )


def _quantity(value: str) -> float:
    """CPU in cores, memory in GiB."""
    units = {"m": 1e-3, "Mi": 1 / 1024, "Gi": 1.0}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def requests() -> dict[str, tuple[float, float]]:
    """(CPU cores, memory GiB) requested per replica, from the base Deployments."""
    found: dict[str, tuple[float, float]] = {}
    for path in sorted(SERVICES_DIR.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Deployment":
                wanted: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
                found[doc["metadata"]["name"]] = (_quantity(str(wanted["cpu"])), _quantity(str(wanted["memory"])))
    return found


def per_replica(figures: Figures, cpu: dict[str, tuple[float, float]], scorer: str) -> dict[str, float | None]:
    """CVs/s one replica handles; None where no benchmark measured it."""
    # No benchmark measures the rubric scorer alone: it is sized with the LLM scorer's per-core rate (whose CPU
    # goes to building HTTP requests; the rubric makes none) until one does.
    score = figures.score_llm_cvs_per_core * cpu["score"][0]
    return {
        "ingest": figures.ingest_cvs_per_core * cpu["ingest"][0],
        "embed": figures.embed_cvs_per_replica,
        "score": score if scorer in SCORERS else None,
        "notify": None,
    }


def replicas(peak: float, rate: float | None) -> int:
    if rate is None:
        return MIN_REPLICAS
    return max(MIN_REPLICAS, math.ceil(peak / (rate * TARGET_UTILISATION)))


def table(text: str | None = None) -> str:
    figures = read_figures(text if text is not None else BENCHMARKS.read_text())
    cpu = requests()
    lines = [
        "| scorer | CVs/day | peak CVs/s | ingest | embed | score | notify | CPU (cores) | memory (GiB) "
        "| LLM requests/min at peak | Qdrant GB per day of CVs kept |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scorer in SCORERS:
        rates = per_replica(figures, cpu, scorer)
        for volume in VOLUMES:
            peak = volume / 86_400 * PEAK_FACTOR
            counts = {s: replicas(peak, r) for s, r in rates.items()}
            cores = sum(n * cpu[s][0] for s, n in counts.items())
            memory = sum(n * cpu[s][1] for s, n in counts.items())
            llm = f"{peak * figures.llm_calls_per_cv * 60:,.0f}" if scorer == "llm" else "-"
            qdrant = volume * figures.chunks_per_cv / 100_000 * figures.qdrant_gb_per_100k_chunks * QDRANT_REPLICATION
            lines.append(
                f"| {scorer} | {volume:,} | {peak:.2f} | {counts['ingest']} | {counts['embed']} | {counts['score']} "
                f"| {counts['notify']} | {cores:g} | {memory:g} | {llm} | {qdrant:.1f} |"
            )
    lines += [
        "",
        f"Per replica: ingest {rates['ingest']:.1f} CVs/s ({cpu['ingest'][0]:g} core, bench-ingest), embed "
        f"{figures.embed_cvs_per_replica:.2f} CVs/s (2 cores, slowest bench-embed round), score "
        f"{figures.score_llm_cvs_per_core:.1f} CVs/s ({cpu['score'][0]:g} core, bench-score median; the rubric is not "
        f"benchmarked and is sized with that figure), notify not benchmarked (kept at {MIN_REPLICAS}). "
        f"{figures.chunks_per_cv:.1f} chunks per CV, {figures.qdrant_gb_per_100k_chunks:.2f} GB per 100k chunks "
        f"(bench-search, Qdrant Edge), {QDRANT_REPLICATION} copies; {figures.llm_calls_per_cv:g} LLM calls per CV. "
        f"Peak = {PEAK_FACTOR:g} x the daily average, replicas busy at most {TARGET_UTILISATION:.0%}, "
        f"at least {MIN_REPLICAS} each.",
    ]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    """Put ``text`` between the capacity markers of docs/deploy.md."""
    doc = DEPLOY_DOC.read_text()
    start, end = "<!-- capacity -->\n", "\n<!-- /capacity -->"
    if start not in doc or end not in doc:
        raise ValueError(f"{DEPLOY_DOC} has no capacity markers")
    head, rest = doc.split(start, 1)
    DEPLOY_DOC.write_text(head + start + text + end + rest.split(end, 1)[1])


def main() -> None:
    text = table()
    print(text)
    write_doc(text)
    print(f"\nwritten to {DEPLOY_DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
