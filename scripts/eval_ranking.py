"""Ranking quality on category folders of CVs: the rubric scorer against a TF-IDF and an embedding baseline.

For every category folder there is one job description written for that category (``scripts/eval_jobs``).
Every CV is scored against every job the way the services would (ingest's extractor and requirement
parser, embed's chunking, model and evidence, the rubric scorer); a job's own-category CVs should rank
above the others. Per job: ROC-AUC of own-category vs the rest and nDCG@10 with own-category CVs
relevant; the figures are means over the jobs.

    python -m scripts.eval_ranking <folder> [--jobs DIR] [--no-doc] [--cache]

``--cache`` keeps the CVs' chunk vectors in ``.shortlist/eval-ranking/`` (keyed by the files, the model and
the chunking settings), so repeated runs on the same folder skip embedding the CVs.
"""

import argparse
import hashlib
import math
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score

from scripts.benchmarks_doc import machine
from shortlist.embed.chunking import Chunk, PiiRange, SectionSpan, chunk_text, redact
from shortlist.embed.config import Settings as EmbedSettings
from shortlist.embed.embedder import MiniLmEmbedder, Vectors
from shortlist.embed.evidence import top_chunks
from shortlist.embed.handlers import requirement_message
from shortlist.embed.store import StoredRequirement, chunk_point_id
from shortlist.ingest.extraction import ExtractionError, extract
from shortlist.ingest.pipeline import Submission, build_ingested, derived_id
from shortlist.ingest.requirements import derive_requirements
from shortlist.score.scorers.base import Thresholds
from shortlist.score.scorers.rubric import RubricScorer
from shortlist.v1 import common_pb2, cv_pb2

ROOT = Path(__file__).resolve().parent.parent
JOBS_DIR = Path(__file__).resolve().parent / "eval_jobs"
DOC = ROOT / "docs" / "evaluation.md"
CACHE_DIR = ROOT / ".shortlist" / "eval-ranking"
NDCG_AT = 10
METHODS = ("rubric", "tfidf", "embedding", "embedding-max", "embedding-doc")
TARGET_AUC, TARGET_NDCG = 0.93, 0.97

Matrix = npt.NDArray[np.float64]


@dataclass
class Cv:
    category: str
    name: str
    ingested: cv_pb2.CvIngested
    chunks: list[Chunk]
    texts: list[str]
    vectors: Vectors | None = None
    document_vector: Vectors | None = None


@dataclass
class Job:
    category: str
    job_id: str
    title: str
    description: str
    requirements: list[StoredRequirement]
    vectors: Vectors | None = None
    description_vector: Vectors | None = None


@dataclass
class Corpus:
    cvs: list[Cv]
    jobs: list[Job]
    skipped: list[str]
    model: str
    seconds: dict[str, float]


def load_jobs(jobs_dir: Path, categories: Sequence[str]) -> list[Job]:
    jobs = []
    missing = [c for c in categories if not (jobs_dir / f"{c}.md").is_file()]
    if missing:
        raise SystemExit(f"no job description for {', '.join(missing)} in {jobs_dir}")
    for category in categories:
        description = (jobs_dir / f"{category}.md").read_text()
        title = description.splitlines()[0].lstrip("# ").strip()
        job_id = f"eval-{category.lower()}"
        requirements = [
            StoredRequirement(id=f"{job_id}-r{i}", text=d.text, kind=d.kind, weight=d.weight)
            for i, d in enumerate(derive_requirements(description), start=1)
        ]
        if not requirements:
            raise SystemExit(f"the job description for {category} has no requirements")
        jobs.append(Job(category, job_id, title, description, requirements))
    return jobs


def load_cvs(folder: Path, categories: Sequence[str], settings: EmbedSettings) -> tuple[list[Cv], list[str]]:
    cvs: list[Cv] = []
    skipped: list[str] = []
    for category in categories:
        for path in sorted((folder / category).iterdir()):
            if not path.is_file():
                continue
            data = path.read_bytes()
            try:
                extracted = extract(data, path.name)
            except ExtractionError as exc:
                skipped.append(f"{category}/{path.name}: {exc.code}")
                continue
            application_id = derived_id("eval", category, path.name)
            submission = Submission(application_id=application_id, job_id="", data=data, filename=path.name)
            ingested = build_ingested(submission, extracted, candidate_id=application_id)
            chunks = chunk_text(
                ingested.text,
                [SectionSpan(s.name, s.span.start, s.span.end) for s in ingested.sections],
                max_words=settings.chunk_max_words,
                overlap_words=settings.chunk_overlap_words,
            )
            pii = [PiiRange(p.kind, p.span.start, p.span.end) for p in ingested.pii]
            texts = [redact(ingested.text, c.start, c.end, pii) for c in chunks]
            cvs.append(Cv(category, path.name, ingested, chunks, texts))
    return cvs, skipped


def cache_path(folder: Path, categories: Sequence[str], settings: EmbedSettings, model: str) -> Path:
    digest = hashlib.sha256(f"{model}|{settings.chunk_max_words}|{settings.chunk_overlap_words}".encode())
    for category in categories:
        for path in sorted((folder / category).iterdir()):
            if path.is_file():
                digest.update(f"{category}/{path.name}|".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return CACHE_DIR / f"{digest.hexdigest()[:24]}.pickle"


def prepare(folder: Path, jobs_dir: Path = JOBS_DIR, cache: bool = False) -> Corpus:
    """Extract every CV and embed its chunks once; derive and embed every job's requirements once."""
    categories = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(categories) < 2:
        raise SystemExit(f"{folder} needs at least two category subfolders")
    settings = EmbedSettings()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    jobs = load_jobs(jobs_dir, categories)
    embedder = MiniLmEmbedder(threads=settings.embed_threads, batch_size=settings.embed_batch_size)
    cached = cache_path(folder, categories, settings, embedder.model_name) if cache else None
    if cached is not None and cached.is_file():
        with cached.open("rb") as f:
            rows, skipped = pickle.load(f)  # a file this script wrote under .shortlist/
        cvs = [Cv(*row) for row in rows]
        seconds["extract"] = time.perf_counter() - started
    else:
        cvs, skipped = load_cvs(folder, categories, settings)
        seconds["extract"] = time.perf_counter() - started
        started = time.perf_counter()
        vectors = embedder.embed([t for cv in cvs for t in cv.texts])
        position = 0
        for cv in cvs:
            cv.vectors = vectors[position : position + len(cv.texts)]
            position += len(cv.texts)
        seconds["embed"] = time.perf_counter() - started
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with cached.open("wb") as f:
                rows = [(cv.category, cv.name, cv.ingested, cv.chunks, cv.texts, cv.vectors) for cv in cvs]
                pickle.dump((rows, skipped), f)

    started = time.perf_counter()
    requirement_vectors = embedder.embed([r.text for job in jobs for r in job.requirements])
    description_vectors = embedder.embed([job.description for job in jobs])
    for cv, vector in zip(cvs, embedder.embed([cv.ingested.redacted_text for cv in cvs]), strict=True):
        cv.document_vector = vector
    position = 0
    for i, job in enumerate(jobs):
        job.vectors = requirement_vectors[position : position + len(job.requirements)]
        job.description_vector = description_vectors[i]
        position += len(job.requirements)
    seconds["embed"] = seconds.get("embed", 0.0) + time.perf_counter() - started
    return Corpus(cvs, jobs, skipped, embedder.model_name, seconds)


def embedded_for(job: Job, cv: Cv, model: str, top_k: int) -> cv_pb2.CvEmbedded:
    """The CvEmbedded the embed service publishes for this CV applying to this job."""
    assert job.vectors is not None and cv.vectors is not None
    ingested = cv.ingested
    embedded = cv_pb2.CvEmbedded(
        application_id=ingested.application_id,
        job_id=job.job_id,
        job_version=1,
        candidate_id=ingested.candidate_id,
        redacted_text=ingested.redacted_text,
        parse_quality=ingested.parse_quality,
        chunk_count=len(cv.chunks),
        embedding_model=model,
        job_title=job.title,
    )
    embedded.sections.extend(ingested.sections)
    embedded.hidden_text.extend(ingested.hidden_text)
    for requirement, matches in zip(job.requirements, top_chunks(job.vectors, cv.vectors, top_k), strict=True):
        item = embedded.evidence.add()
        item.requirement.CopyFrom(requirement_message(requirement))
        for match in matches:
            chunk = cv.chunks[match.chunk]
            item.chunks.add(
                chunk_id=chunk_point_id(ingested.application_id, chunk.index),
                section=chunk.section,
                span=common_pb2.Span(start=chunk.start, end=chunk.end),
                text=cv.texts[match.chunk],
                similarity=match.similarity,
            )
    return embedded


def rubric_scores(corpus: Corpus, scorer: RubricScorer | None = None) -> Matrix:
    scorer = scorer or RubricScorer(Thresholds(advance=70.0, reject=45.0))
    top_k = EmbedSettings().evidence_top_k
    scores = np.zeros((len(corpus.jobs), len(corpus.cvs)))
    for i, job in enumerate(corpus.jobs):
        for j, cv in enumerate(corpus.cvs):
            scores[i, j] = scorer.score_sync(embedded_for(job, cv, corpus.model, top_k)).score
    return scores


def tfidf_scores(corpus: Corpus) -> Matrix:
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    vectorizer.fit([cv.ingested.redacted_text for cv in corpus.cvs] + [job.description for job in corpus.jobs])
    cvs = vectorizer.transform([cv.ingested.redacted_text for cv in corpus.cvs])
    jobs = vectorizer.transform([job.description for job in corpus.jobs])
    return np.asarray((jobs @ cvs.T).toarray(), dtype=np.float64)


def _descriptions(corpus: Corpus) -> Matrix:
    return np.stack([job.description_vector for job in corpus.jobs if job.description_vector is not None])


def embedding_scores(corpus: Corpus) -> Matrix:
    """Cosine between the job description's vector and the mean of the CV's chunk vectors."""
    means = []
    for cv in corpus.cvs:
        assert cv.vectors is not None
        mean = cv.vectors.mean(axis=0) if len(cv.vectors) else np.zeros(MiniLmEmbedder.dimension)
        means.append(mean / (np.linalg.norm(mean) or 1.0))
    return np.asarray(_descriptions(corpus) @ np.stack(means).T, dtype=np.float64)


def embedding_max_scores(corpus: Corpus) -> Matrix:
    """The best cosine between the job description's vector and any one chunk of the CV."""
    jobs = _descriptions(corpus)
    columns = [
        (jobs @ cv.vectors.T).max(axis=1) if cv.vectors is not None and len(cv.vectors) else np.zeros(len(jobs))
        for cv in corpus.cvs
    ]
    return np.asarray(np.stack(columns, axis=1), dtype=np.float64)


def embedding_doc_scores(corpus: Corpus) -> Matrix:
    """Cosine between the job description and the CV's whole text embedded as one input.

    The model reads at most 256 word pieces, so this is in effect the CV's opening (headline, summary).
    """
    documents = np.stack([cv.document_vector for cv in corpus.cvs if cv.document_vector is not None])
    return np.asarray(_descriptions(corpus) @ documents.T, dtype=np.float64)


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

    @property
    def mean_auc(self) -> float:
        return float(np.mean(self.auc))

    @property
    def mean_ndcg(self) -> float:
        return float(np.mean(self.ndcg))


def evaluate(corpus: Corpus, scores: Matrix) -> Figures:
    auc, ndcg = [], []
    for i, job in enumerate(corpus.jobs):
        relevant = [cv.category == job.category for cv in corpus.cvs]
        auc.append(float(roc_auc_score(relevant, scores[i])))
        ndcg.append(ndcg_at(list(scores[i]), relevant))
    return Figures(auc, ndcg)


def report(corpus: Corpus, figures: dict[str, Figures], command: str) -> str:
    n_pairs = len(corpus.jobs) * len(corpus.cvs)
    lines = [
        "| method | mean ROC-AUC | mean nDCG@10 | categories with AUC < 0.9 |",
        "|---|---|---|---|",
    ]
    for method, f in figures.items():
        weak = sum(1 for a in f.auc if a < 0.9)
        lines.append(f"| {method} | {f.mean_auc:.3f} | {f.mean_ndcg:.3f} | {weak} |")
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
            f"Targets for the rubric: mean ROC-AUC >= {TARGET_AUC}, mean nDCG@10 >= {TARGET_NDCG}, above both "
            f"baselines: **{'met' if met and above else 'not met'}**.",
            "",
            "### Per category",
            "",
            "\n".join(per_category),
            "",
            f"- command: `{command}`",
            f"- machine: {machine()}",
            f"- time: {timing}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="a folder of category subfolders of CVs")
    parser.add_argument("--jobs", type=Path, default=JOBS_DIR, help="one <CATEGORY>.md job description per folder")
    parser.add_argument("--no-doc", action="store_true", help=f"print only; do not write {DOC.relative_to(ROOT)}")
    parser.add_argument("--cache", action="store_true", help="reuse the CVs' vectors from a previous --cache run")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    corpus = prepare(args.folder, args.jobs, cache=args.cache)
    started = time.perf_counter()
    rubric = rubric_scores(corpus)
    corpus.seconds["rubric"] = time.perf_counter() - started
    started = time.perf_counter()
    tfidf = tfidf_scores(corpus)
    baselines = (tfidf, embedding_scores(corpus), embedding_max_scores(corpus), embedding_doc_scores(corpus))
    corpus.seconds["baselines"] = time.perf_counter() - started
    figures = {m: evaluate(corpus, s) for m, s in zip(METHODS, (rubric, *baselines), strict=True)}
    command = f"make eval-ranking PATH={args.folder}"
    body = report(corpus, figures, command)
    print(body)
    if not args.no_doc:
        write_doc(body)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
