"""Role fit: how well the CV's own headline (and, less, the rest of the CV) names the job title."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shortlist.score.safety import Screening, normalize
from shortlist.score.terms import Coverage, CvTerms, coverage, significant_terms

#: Role fit counts as much as this share of the requirements' total weight.
ROLE_WEIGHT = 0.5
#: ... and this share when it is below the requirements' score.
ROLE_WEIGHT_BELOW = 0.15
#: The title's words found only elsewhere in the CV (a past title, a sentence) count this much of the
#: same words in the CV's headline, where a CV says what the candidate is.
BODY_SHARE = 0.5
#: Title words covered from this share on count as the title being named.
NAMED = 65.0
#: A first line longer than this is prose, not a headline.
MAX_HEADLINE_CHARS = 120
#: The headline is looked for in the CV's first non-empty lines only.
MAX_HEADLINE_LINES = 5
#: Ingest's redaction placeholders.
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
#: A title may list alternatives: "Advocate / Legal Counsel", "Chef or Cook".
_ALTERNATIVES = re.compile(r"\s*(?:/|\||,|;|\bor\b)\s*", re.IGNORECASE)


def title_variants(title: str) -> list[str]:
    variants = [v for v in _ALTERNATIVES.split(title) if significant_terms(v)]
    return variants or ([title] if significant_terms(title) else [])


def headline(redacted_text: str, screening: Screening) -> str:
    """The CV's headline: its first line that says more than redacted contact details ("[NAME]", "[EMAIL]"),
    when that line is short and was not set aside as injected or hidden text."""
    lines = [line for line in redacted_text.splitlines() if line.strip()]
    for line in lines[:MAX_HEADLINE_LINES]:
        if not significant_terms(_PLACEHOLDER.sub(" ", line)):
            continue
        if len(line.strip()) > MAX_HEADLINE_CHARS or screening.tainted(line):
            return ""
        return line if normalize(line) in screening.clean_text else ""
    return ""


@dataclass(frozen=True)
class RoleFit:
    score: float  # 0..100
    in_headline: bool
    coverage: Coverage  # the best title variant's words in the whole CV

    @property
    def phrase(self) -> str:
        if self.in_headline:
            return "job title named in the CV's headline"
        if self.coverage.score is not None and self.coverage.score >= NAMED:
            return "job title named in the CV"
        return "job title partly named in the CV" if self.coverage.found else "job title not named in the CV"


def role_coverage(title: str, head: CvTerms, body: CvTerms) -> RoleFit | None:
    """The best title variant: its words in the headline count fully, elsewhere ``BODY_SHARE``."""
    best: RoleFit | None = None
    for variant in title_variants(title):
        in_head, in_body = coverage(variant, head), coverage(variant, body)
        if in_head.score is None or in_body.score is None:
            continue
        credits = [max(head.credit(t), BODY_SHARE * body.credit(t)) for t in in_body.terms]
        fit = RoleFit(100.0 * sum(credits) / len(credits), in_head.score >= NAMED, in_body)
        if best is None or fit.score > best.score:
            best = fit
    return best


def role_weight(weights: Sequence[float], raises: bool) -> float:
    """Role fit's weight next to requirements of these weights: full when it raises the score, less when not."""
    return (ROLE_WEIGHT if raises else ROLE_WEIGHT_BELOW) * sum(weights)
