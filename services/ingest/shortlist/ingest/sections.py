"""CV sections found by their heading lines."""

import re

from shortlist.ingest.model import Span

SECTION_NAMES = ("summary", "experience", "education", "skills", "certifications", "other")

_HEADINGS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary", "profile", "professional summary", "professional profile", "career summary", "about me",
        "about", "objective", "career objective", "personal statement", "overview", "profile summary",
        "executive summary", "personal profile", "introduction", "career overview", "professional overview",
        "summary of qualifications", "qualifications summary",
    ),
    "experience": (
        "experience", "work experience", "professional experience", "employment", "employment history",
        "work history", "career history", "relevant experience", "professional background", "career",
        "positions held", "projects", "selected projects", "key projects", "internships", "experience and projects",
    ),
    "education": (
        "education", "educational background", "academic background", "education and training",
        "academic qualifications",
        "qualifications", "academic history", "studies", "education and qualifications", "academic record",
    ),
    "skills": (
        "skills", "technical skills", "key skills", "core skills", "core competencies", "competencies",
        "technologies", "tools", "expertise", "areas of expertise", "skills and tools", "tech stack",
        "skills and competencies", "it skills", "computer skills", "technical expertise", "skill set", "skillset",
        "tools and technologies", "skills and abilities", "professional skills", "core strengths", "strengths",
        "highlights", "skill highlights", "technical proficiencies",
    ),
    "certifications": (
        "certifications", "certification", "certificates", "licenses", "licenses and certifications",
        "certifications and licenses", "accreditations", "courses", "training", "courses and certifications",
        "professional development", "certifications and training",
    ),
    "other": (
        "languages", "interests", "hobbies", "hobbies and interests", "references", "publications", "awards",
        "honors", "honours", "achievements", "accomplishments", "volunteering", "volunteer experience", "activities",
        "memberships",
        "additional information", "personal details", "personal information", "contact", "contact details",
        "referees", "patents", "presentations", "leadership", "extracurricular activities",
    ),
}  # fmt: skip
_BY_HEADING = {alias: name for name, aliases in _HEADINGS.items() for alias in aliases}
_NOISE = re.compile(r"[^a-z ]+")
_PARENS = re.compile(r"\(.*?\)")


def heading_name(line: str) -> str | None:
    """The section a line is the heading of, or None when it is not a heading."""
    stripped = line.strip()
    if not stripped or len(stripped) > 48:
        return None
    normal = _PARENS.sub(" ", stripped.lower()).replace("&", " and ")
    normal = " ".join(_NOISE.sub(" ", normal).split())
    if not normal or len(normal.split()) > 5:
        return None
    return _BY_HEADING.get(normal)


def find_sections(text: str) -> list[Span]:
    """Sections as spans into ``text``; text before the first heading is ``other`` (usually contact details)."""
    starts: list[tuple[int, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        name = heading_name(line)
        if name is not None:
            starts.append((offset, name))
        offset += len(line)
    spans: list[Span] = []
    if not starts or text[: starts[0][0]].strip():
        spans.append(Span("other", 0, starts[0][0] if starts else len(text)))
    for index, (start, name) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        spans.append(Span(name, start, end))
    return [_trim(text, s) for s in spans if text[s.start : s.end].strip()]


def _trim(text: str, span: Span) -> Span:
    end = span.end
    while end > span.start and text[end - 1].isspace():
        end -= 1
    return Span(span.kind, span.start, end)
