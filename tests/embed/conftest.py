"""Fixtures of the embed tests: one loaded model per session and CVs with real sections and PII spans."""

from collections.abc import Sequence

import pytest

from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.v1 import common_pb2, cv_pb2, jobs_pb2


@pytest.fixture(scope="session")
def embedder() -> MiniLmEmbedder:
    model = MiniLmEmbedder(threads=2)
    model.load()
    return model


HEADER = "Grace Tester\ngrace.tester@example.com\n\n"
SECTIONS = {
    "summary": "Summary\nBackend engineer who builds data pipelines and payment APIs.",
    "experience": (
        "Experience\nPlatform engineer at Cloudly (2019-2024): operated Kubernetes clusters across three regions, "
        "wrote Helm charts and ran container orchestration for forty services.\n"
        "Developer at Paybright (2015-2019): payment APIs in Python with PostgreSQL."
    ),
    "education": "Education\nBSc Mathematics, University of Leeds, 2015.",
    "skills": "Skills\nPython, SQL, Terraform, Git",
}


def make_cv(
    application_id: str,
    job_id: str,
    sections: dict[str, str] = SECTIONS,
    header: str = HEADER,
    candidate_id: str = "cand-1",
) -> cv_pb2.CvIngested:
    """A CvIngested as ingest publishes it: sections with spans, the email as a PII span, redacted text."""
    text = header
    spans: list[common_pb2.Section] = []
    for name, body in sections.items():
        start = len(text)
        text += body
        spans.append(common_pb2.Section(name=name, span=common_pb2.Span(start=start, end=len(text))))
        text += "\n\n"
    pii: list[common_pb2.PiiSpan] = []
    redacted = text
    for kind, value in (("name", "Grace Tester"), ("email", "grace.tester@example.com")):
        start = text.find(value)
        if start >= 0:
            pii.append(common_pb2.PiiSpan(kind=kind, span=common_pb2.Span(start=start, end=start + len(value))))
            redacted = redacted.replace(value, f"[{kind.upper()}]")
    cv = cv_pb2.CvIngested(
        application_id=application_id,
        job_id=job_id,
        candidate_id=candidate_id,
        text=text,
        redacted_text=redacted,
        parse_quality=1.0,
        content_type="text/plain",
    )
    cv.sections.extend(spans)
    cv.pii.extend(pii)
    cv.submitted_at.GetCurrentTime()
    return cv


def make_job(job_id: str, requirements: Sequence[tuple[str, int]], version: int = 1) -> jobs_pb2.JobPosted:
    """A JobPosted with requirement ids ``<job>-r<n>``; each requirement is (text, kind)."""
    job = jobs_pb2.JobPosted(
        job_id=job_id, version=version, title="Platform engineer", advance_threshold=70, reject_threshold=40
    )
    for index, (text, kind) in enumerate(requirements, start=1):
        job.requirements.add(id=f"{job_id}-r{index}", text=text, kind=kind)
    job.posted_at.GetCurrentTime()
    return job


MUST = common_pb2.REQUIREMENT_KIND_MUST
NICE = common_pb2.REQUIREMENT_KIND_NICE
