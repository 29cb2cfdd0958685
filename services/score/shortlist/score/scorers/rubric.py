"""The rubric scorer: no network; evidence similarity on a calibrated curve plus requirement-term coverage."""

from bisect import bisect_right
from collections.abc import Sequence

from shortlist.score.safety import Screening, screen
from shortlist.score.scorers.base import (
    Flag,
    Quote,
    RequirementResult,
    ScoreResult,
    Thresholds,
    Verdict,
    embedded_inputs,
    input_hash,
    is_must,
    overall,
    requirement_weight,
)
from shortlist.score.scorers.explain import quote_of, reason_of, summarize
from shortlist.score.scorers.role import RoleFit, headline, role_coverage, role_weight
from shortlist.score.terms import CvTerms, coverage
from shortlist.v1 import cv_pb2

PROMPT_VERSION = "rubric-2"

#: all-MiniLM-L6-v2 cosine -> 0..100. Unrelated CV text sits around 0.0-0.25, relevant evidence around
#: 0.45-0.6, near-paraphrases above 0.7.
CURVE: tuple[tuple[float, float], ...] = (
    (0.15, 0.0),
    (0.25, 10.0),
    (0.35, 30.0),
    (0.45, 58.0),
    (0.55, 82.0),
    (0.65, 95.0),
    (0.75, 100.0),
)
MET, PARTIAL = 65.0, 35.0
#: Term coverage pulls the similarity score up more readily than it pulls it down: wording differs between
#: CVs, so a missing word is weaker evidence than a present one.
TERM_PULL_UP, TERM_PULL_DOWN = 0.4, 0.25
ROLE_ID = "role"
MAX_QUOTES = 2
QUOTE_MIN_CALIBRATED = 60.0


def calibrate(similarity: float) -> float:
    xs = [x for x, _ in CURVE]
    if similarity <= xs[0]:
        return CURVE[0][1]
    if similarity >= xs[-1]:
        return CURVE[-1][1]
    i = bisect_right(xs, similarity)
    (x0, y0), (x1, y1) = CURVE[i - 1], CURVE[i]
    return y0 + (y1 - y0) * (similarity - x0) / (x1 - x0)


def evidence_score(calibrated: Sequence[float]) -> float:
    """Mostly the best chunk, a little from the support of the next two (an absent chunk supports nothing)."""
    if not calibrated:
        return 0.0
    return 0.75 * calibrated[0] + 0.25 * sum(calibrated[:3]) / 3


def blend(evidence: float, terms: float | None) -> float:
    if terms is None:
        return evidence
    if terms >= evidence:
        return evidence + TERM_PULL_UP * (terms - evidence)
    return evidence - TERM_PULL_DOWN * (evidence - terms)


def verdict_of(score: float) -> Verdict:
    if score >= MET:
        return Verdict.MET
    if score >= PARTIAL:
        return Verdict.PARTIAL
    return Verdict.MISSING


class RubricScorer:
    name = "rubric"
    prompt_version = PROMPT_VERSION

    def __init__(self, defaults: Thresholds) -> None:
        self.defaults = defaults

    async def score(self, embedded: cv_pb2.CvEmbedded) -> ScoreResult:
        return self.score_sync(embedded)

    def score_sync(self, embedded: cv_pb2.CvEmbedded) -> ScoreResult:
        thresholds = self.defaults.for_job(embedded)
        screening = screen(embedded)
        cv_terms = CvTerms(screening.clean_text)
        results = tuple(self._requirement(e, screening, cv_terms, embedded.redacted_text) for e in embedded.evidence)
        flags = tuple(
            flag
            for flag, on in (
                (Flag.PROMPT_INJECTION_SUSPECTED, screening.injection),
                (Flag.HIDDEN_TEXT, screening.hidden),
                (Flag.LOW_PARSE_QUALITY, screening.low_parse_quality),
            )
            if on
        )
        head = CvTerms(headline(embedded.redacted_text, screening))
        fit = role_coverage(embedded.job_title, head, cv_terms)
        role = role_result(fit, results)
        parts = results if role is None else (*results, role)
        score, recommendation = overall(parts, thresholds, flags)
        inputs = embedded_inputs(embedded, thresholds)
        inputs["job_title"] = embedded.job_title
        return ScoreResult(
            score=score,
            recommendation=recommendation,
            requirements=results,
            flags=flags,
            scorer=self.name,
            model=embedded.embedding_model,
            prompt_version=self.prompt_version,
            input_hash=input_hash(self.name, self.prompt_version, inputs),
            summary=summarize(results, None if fit is None else fit.phrase),
        )

    def _requirement(
        self, evidence: cv_pb2.RequirementEvidence, screening: Screening, cv_terms: CvTerms, redacted: str
    ) -> RequirementResult:
        requirement = evidence.requirement
        chunks = sorted(
            (c for c in evidence.chunks if not screening.tainted(c.text)),
            key=lambda c: -c.similarity,
        )
        calibrated = [calibrate(c.similarity) for c in chunks]
        terms = coverage(requirement.text, cv_terms)
        score = round(min(100.0, max(0.0, blend(evidence_score(calibrated), terms.score))), 1)
        verdict = verdict_of(score)
        quotes: list[Quote] = []
        if verdict != Verdict.MISSING:
            for i, chunk in enumerate(chunks[:MAX_QUOTES]):
                if i == 0 or calibrated[i] >= QUOTE_MIN_CALIBRATED:
                    quotes.append(quote_of(chunk, terms, redacted))
        best = chunks[0].similarity if chunks else None
        return RequirementResult(
            requirement_id=requirement.id,
            text=requirement.text,
            must=is_must(requirement),
            weight=requirement_weight(requirement),
            score=score,
            verdict=verdict,
            quotes=tuple(quotes),
            reason=reason_of(verdict, best, terms),
        )


def role_result(fit: RoleFit | None, results: Sequence[RequirementResult]) -> RequirementResult | None:
    """Role fit as a nice-to-have-like part of the overall score, when it raises it.

    A CV that does not name the job title is judged on its requirements alone; role fit is never a must-have,
    so it cannot cap the recommendation, and it is not published as a requirement.
    """
    weights = [r.weight for r in results]
    if fit is None or sum(weights) <= 0:
        return None
    requirements = sum(r.score * r.weight for r in results) / sum(weights)
    weight = role_weight(weights, raises=fit.score > requirements)
    if weight <= 0:
        return None
    score = round(fit.score, 1)
    return RequirementResult(
        requirement_id=ROLE_ID,
        text="job title",
        must=False,
        weight=weight,
        score=score,
        verdict=verdict_of(score),
        quotes=(),
        reason=reason_of(verdict_of(score), None, fit.coverage),
    )
