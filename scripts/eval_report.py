"""The figures of the ranking evaluation and the Markdown report written to ``docs/evaluation.md``."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from scripts.benchmarks_doc import machine
from scripts.eval_corpus import ROOT, Corpus
from scripts.eval_methods import Matrix

DOC = ROOT / "docs" / "evaluation.md"
NDCG_AT = 10
TARGET_AUC, TARGET_NDCG = 0.93, 0.97


def ndcg_at(scores: Sequence[float], relevant: Sequence[bool], k: int = NDCG_AT) -> float:
    """Binary-relevance nDCG@k; ties are broken by position, so the figure is deterministic."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    dcg = sum(1.0 / math.log2(rank + 2) for rank, i in enumerate(order) if relevant[i])
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, sum(relevant))))
    return dcg / ideal if ideal else 0.0


@dataclass(frozen=True)
class Figures:
    auc: list[float]
    ndcg: list[float]
    pooled_auc: float
    """Every (job, CV) pair in one ranking: high only when a score means the same whatever the job."""

    @property
    def mean_auc(self) -> float:
        return float(np.mean(self.auc))

    @property
    def mean_ndcg(self) -> float:
        return float(np.mean(self.ndcg))


def evaluate(corpus: Corpus, scores: Matrix) -> Figures:
    auc, ndcg, everything = [], [], []
    for i, job in enumerate(corpus.jobs):
        relevant = [cv.category == job.category for cv in corpus.cvs]
        auc.append(float(roc_auc_score(relevant, scores[i])))
        ndcg.append(ndcg_at(list(scores[i]), relevant))
        everything.extend(relevant)
    return Figures(auc, ndcg, float(roc_auc_score(everything, scores.ravel())))


def report(corpus: Corpus, figures: dict[str, Figures], command: str) -> str:
    n_pairs = len(corpus.jobs) * len(corpus.cvs)
    lines = [
        "| method | mean ROC-AUC | mean nDCG@10 | categories with AUC < 0.9 | pooled ROC-AUC |",
        "|---|---|---|---|---|",
    ]
    for method, f in figures.items():
        weak = sum(1 for a in f.auc if a < 0.9)
        lines.append(f"| {method} | {f.mean_auc:.3f} | {f.mean_ndcg:.3f} | {weak} | {f.pooled_auc:.3f} |")
    summary = "\n".join(lines)
    per_category = [
        "| category | "
        + " | ".join(f"{m} AUC" for m in figures)
        + " | "
        + " | ".join(f"{m} nDCG@10" for m in figures)
        + " |",
        "|---|" + "---|" * (2 * len(figures)),
    ]
    for i, job in enumerate(corpus.jobs):
        aucs = " | ".join(f"{f.auc[i]:.3f}" for f in figures.values())
        ndcgs = " | ".join(f"{f.ndcg[i]:.3f}" for f in figures.values())
        per_category.append(f"| {job.category} | {aucs} | {ndcgs} |")
    rubric = figures["rubric"]
    met = rubric.mean_auc >= TARGET_AUC and rubric.mean_ndcg >= TARGET_NDCG
    above = all(rubric.mean_auc > f.mean_auc for m, f in figures.items() if m != "rubric")
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in corpus.seconds.items())
    return "\n".join(
        [
            f"Data: {len(corpus.cvs)} CVs in {len(corpus.jobs)} categories, {len(corpus.jobs)} jobs, "
            f"{n_pairs} (job, CV) pairs"
            + (f"; {len(corpus.skipped)} files could not be read" if corpus.skipped else "")
            + ".",
            "",
            summary,
            "",
            "Pooled ROC-AUC: all pairs of all jobs in one ranking, own-category pairs first. A method whose scores "
            "mean the same across jobs keeps it close to its mean per-job ROC-AUC; one whose scale shifts from job "
            "to job loses against it.",
            "",
            f"Targets for the rubric: mean ROC-AUC >= {TARGET_AUC}, mean nDCG@10 >= {TARGET_NDCG}, above both "
            f"baselines: **{'met' if met and above else 'not met'}**.",
            "",
            "### Per category",
            "",
            "\n".join(per_category),
            "",
            f"- command: `{command}`",
            f"- machine: {machine()}",
            f"- embedding model: {corpus.model}",
            f"- time: {timing}",
        ]
    )


def write_doc(body: str) -> None:
    template = (ROOT / "docs" / "evaluation.md").read_text() if DOC.exists() else ""
    marker_start, marker_end = "<!-- results -->", "<!-- /results -->"
    results = f"{marker_start}\n{body}\n{marker_end}"
    if marker_start in template and marker_end in template:
        head, rest = template.split(marker_start, 1)
        tail = rest.split(marker_end, 1)[1]
        DOC.write_text(head + results + tail)
    else:
        DOC.write_text(template.rstrip("\n") + ("\n\n" if template else "") + "## Results\n\n" + results + "\n")
