"""Hand-made CvEmbedded messages: a job's requirements, CV chunks and the similarity of each pair."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shortlist.v1 import common_pb2, cv_pb2

MUST, NICE = True, False

REQUIREMENTS: tuple[tuple[str, bool], ...] = (
    ("Five or more years of professional Python development", MUST),
    ("Experience with Kafka or other message brokers", MUST),
    ("Kubernetes and Docker in production", MUST),
    ("Degree in computer science or a related field", NICE),
)

STRONG_CV: tuple[tuple[str, tuple[float, ...]], ...] = (
    (
        "Senior backend engineer, 2016-2024. Built Django and FastAPI services in Python, "
        "led Python development for the payments platform.",
        (0.62, 0.22, 0.17, 0.17),
    ),
    (
        "Designed event-driven pipelines on Apache Kafka and RabbitMQ brokers, 2M messages a day.",
        (0.07, 0.66, 0.27, 0.04),
    ),
    (
        "Ran services in production on Kubernetes with Helm; containerised every app with Docker.",
        (0.05, 0.19, 0.74, 0.0),
    ),
    ("BSc Computer Science, 2015.", (0.41, 0.13, -0.04, 0.61)),
)

WEAK_CV: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("Head chef at a seafood restaurant; managed a kitchen team of twelve and the menu.", (0.17, 0.16, 0.14, 0.03)),
    ("Hobbies: hiking, chess and photography.", (0.16, 0.08, 0.0, 0.08)),
    ("Food hygiene certificate, level 3.", (0.09, 0.11, 0.02, 0.12)),
)

SUBMITTED_AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _kind(must: bool) -> common_pb2.RequirementKind:
    return common_pb2.REQUIREMENT_KIND_MUST if must else common_pb2.REQUIREMENT_KIND_NICE


@dataclass(frozen=True)
class Hidden:
    text: str
    reason: str = "white_text"


def make_embedded(
    chunks: Sequence[tuple[str, Sequence[float]]],
    *,
    requirements: Sequence[tuple[str, bool]] = REQUIREMENTS,
    application_id: str = "app-1",
    job_id: str = "job-1",
    hidden: Sequence[Hidden] = (),
    parse_quality: float = 0.95,
    advance_threshold: float = 0.0,
    reject_threshold: float = 0.0,
    extra_text: str = "",
) -> cv_pb2.CvEmbedded:
    """A CvEmbedded whose redacted text is the chunks (and ``extra_text``) and whose evidence is the top 3
    chunks per requirement by the given similarities (one per requirement, in order)."""
    text = ""
    spans: list[tuple[int, int]] = []
    for chunk_text, _ in chunks:
        if text:
            text += "\n\n"
        spans.append((len(text), len(text) + len(chunk_text)))
        text += chunk_text
    if extra_text:
        text += "\n\n" + extra_text
    message = cv_pb2.CvEmbedded(
        application_id=application_id,
        job_id=job_id,
        job_version=1,
        candidate_id=f"cand-{application_id}",
        redacted_text=text,
        parse_quality=parse_quality,
        chunk_count=len(chunks),
        embedding_model="all-MiniLM-L6-v2",
        job_title="Backend engineer",
        advance_threshold=advance_threshold,
        reject_threshold=reject_threshold,
    )
    message.submitted_at.FromDatetime(SUBMITTED_AT)
    for h in hidden:
        message.hidden_text.append(common_pb2.HiddenText(reason=h.reason, text=h.text, page=1))
    for r, (requirement_text, must) in enumerate(requirements):
        evidence = message.evidence.add()
        evidence.requirement.CopyFrom(
            common_pb2.Requirement(id=f"{job_id}-r{r + 1}", text=requirement_text, kind=_kind(must), weight=0.0)
        )
        ranked = sorted(range(len(chunks)), key=lambda c: -chunks[c][1][r])[:3]
        for c in ranked:
            start, end = spans[c]
            evidence.chunks.append(
                cv_pb2.EvidenceChunk(
                    chunk_id=f"{application_id}-c{c}",
                    section="experience",
                    span=common_pb2.Span(start=start, end=end),
                    text=chunks[c][0],
                    similarity=chunks[c][1][r],
                )
            )
    return message
