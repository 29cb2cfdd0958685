"""Generated CVs of different profiles for the search tests; only one of them mentions COBOL."""

from shortlist.embed.chunking import SectionSpan, chunk_text
from shortlist.embed.embedder import MiniLmEmbedder
from shortlist.embed.store import CvRef, VectorStore
from shortlist.v1 import cv_pb2
from tests.embed.conftest import SECTIONS, make_cv

DATA_SCIENTIST = {
    "summary": "Summary\nData scientist who builds forecasting models for retail demand.",
    "experience": (
        "Experience\nAnalyst at Retailco (2018-2024): demand forecasting with pandas and scikit-learn, "
        "A/B testing of pricing, dashboards in Tableau for the buying team."
    ),
    "education": "Education\nMSc Statistics, University of Bristol, 2018.",
    "skills": "Skills\nR, pandas, scikit-learn, Tableau",
}
FRONTEND = {
    "summary": "Summary\nFrontend developer who builds accessible web interfaces.",
    "experience": (
        "Experience\nDeveloper at Shoply (2017-2024): single-page applications in React and TypeScript, "
        "design systems in CSS, end-to-end tests with Playwright."
    ),
    "education": "Education\nBA Graphic Design, University of Brighton, 2016.",
    "skills": "Skills\nReact, TypeScript, CSS, Figma",
}
COBOL = {**SECTIONS, "skills": "Skills\nPython, SQL, COBOL programs for IBM mainframe batch jobs, Git"}

PROFILES = {"platform": SECTIONS, "data": DATA_SCIENTIST, "frontend": FRONTEND, "cobol": COBOL}


def generated_cvs(job_id: str, prefix: str) -> dict[str, cv_pb2.CvIngested]:
    """One CV per profile: application ``<prefix>-<profile>``, candidate ``cand-<prefix>-<profile>``."""
    return {
        name: make_cv(f"{prefix}-{name}", job_id, sections, candidate_id=f"cand-{prefix}-{name}")
        for name, sections in PROFILES.items()
    }


async def store_cv(store: VectorStore, embedder: MiniLmEmbedder, cv: cv_pb2.CvIngested) -> None:
    chunks = chunk_text(cv.text, [SectionSpan(s.name, s.span.start, s.span.end) for s in cv.sections])
    texts = [c.text for c in chunks]
    await store.put_chunks(CvRef(cv.application_id, cv.job_id, cv.candidate_id), chunks, texts, embedder.embed(texts))
