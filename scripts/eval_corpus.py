"""The evaluation corpus: every CV extracted, chunked and embedded once, every job's requirements embedded once,
and the ``CvEmbedded`` the embed service would publish for any (job, CV) pair."""

import hashlib
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shortlist.embed.chunking import Chunk
from shortlist.embed.config import Settings as EmbedSettings
from shortlist.embed.embedder import Embedder, Vectors, create_embedder
from shortlist.embed.evidence import top_chunks
from shortlist.embed.handlers import cv_chunks, requirement_message
from shortlist.embed.store import StoredRequirement, chunk_point_id
from shortlist.ingest.extraction import ExtractionError, extract
from shortlist.ingest.pipeline import Submission, build_ingested, derived_id
from shortlist.ingest.requirements import derive_requirements
from shortlist.v1 import common_pb2, cv_pb2

ROOT = Path(__file__).resolve().parent.parent
JOBS_DIR = Path(__file__).resolve().parent / "eval_jobs"
CACHE_DIR = ROOT / ".shortlist" / "eval-ranking"


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
            chunks, texts = cv_chunks(ingested, settings)
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


def prepare(folder: Path, jobs_dir: Path = JOBS_DIR, cache: bool = False, embedder: Embedder | None = None) -> Corpus:
    """Extract every CV and embed its chunks once; derive and embed every job's requirements once.

    ``embedder`` defaults to the one the service would use (``SHORTLIST_EMBEDDER``).
    """
    categories = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(categories) < 2:
        raise SystemExit(f"{folder} needs at least two category subfolders")
    settings = EmbedSettings()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    jobs = load_jobs(jobs_dir, categories)
    embedder = embedder or create_embedder(settings)
    cached = cache_path(folder, categories, settings, embedder.embedder_id) if cache else None
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
