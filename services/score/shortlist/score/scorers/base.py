"""The scorer interface, its result types, the overall score and recommendation, and the CvScored mapping."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from shortlist.v1 import common_pb2, cv_pb2, score_pb2


class Verdict(StrEnum):
    MET = "met"
    PARTIAL = "partial"
    MISSING = "missing"
    UNVERIFIABLE = "unverifiable"


class Recommendation(StrEnum):
    ADVANCE = "advance"
    REVIEW = "review"
    REJECT = "reject"


class Flag(StrEnum):
    PROMPT_INJECTION_SUSPECTED = "prompt_injection_suspected"
    HIDDEN_TEXT = "hidden_text"
    LOW_PARSE_QUALITY = "low_parse_quality"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class Quote:
    """Evidence quoted from the redacted CV text; [start, end) into that text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class RequirementResult:
    requirement_id: str
    text: str
    must: bool
    weight: float
    score: float  # 0..100
    verdict: Verdict
    quotes: tuple[Quote, ...]
    reason: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    retries: int = 0
    latency_seconds: float = 0.0


@dataclass(frozen=True)
class ScoreResult:
    score: float  # 0..100
    recommendation: Recommendation
    requirements: tuple[RequirementResult, ...]
    flags: tuple[Flag, ...]
    scorer: str
    model: str
    prompt_version: str
    input_hash: str
    summary: str = ""
    usage: Usage = field(default_factory=Usage)


class Scorer(Protocol):
    name: str
    prompt_version: str

    async def score(self, embedded: cv_pb2.CvEmbedded) -> ScoreResult: ...


@dataclass(frozen=True)
class Thresholds:
    advance: float
    reject: float

    def for_job(self, embedded: cv_pb2.CvEmbedded) -> "Thresholds":
        """The job's own thresholds where it sets them (non-zero), these defaults otherwise."""
        advance = embedded.advance_threshold if embedded.advance_threshold > 0 else self.advance
        reject = embedded.reject_threshold if embedded.reject_threshold > 0 else self.reject
        return Thresholds(advance=advance, reject=min(reject, advance))


def is_must(requirement: common_pb2.Requirement) -> bool:
    return requirement.kind != common_pb2.REQUIREMENT_KIND_NICE


def requirement_weight(requirement: common_pb2.Requirement) -> float:
    if requirement.weight > 0:
        return float(requirement.weight)
    return 1.0 if is_must(requirement) else 0.5


#: Must-have verdicts that cap the recommendation at review.
_UNPROVEN = frozenset({Verdict.MISSING, Verdict.UNVERIFIABLE})


def overall(
    requirements: Sequence[RequirementResult], thresholds: Thresholds, flags: Sequence[Flag]
) -> tuple[float, Recommendation]:
    """Weighted mean of the requirement scores and the recommendation it leads to.

    A must-have judged missing or unverifiable (the model claimed evidence that is not in the CV), or a CV that
    tries to instruct the scorer, caps the recommendation at review: an unproven must-have is not advanced.
    """
    total_weight = sum(r.weight for r in requirements)
    if total_weight <= 0:
        return 0.0, Recommendation.REVIEW
    score = round(sum(r.score * r.weight for r in requirements) / total_weight, 1)
    if score >= thresholds.advance:
        recommendation = Recommendation.ADVANCE
    elif score < thresholds.reject:
        recommendation = Recommendation.REJECT
    else:
        recommendation = Recommendation.REVIEW
    capped = any(r.must and r.verdict in _UNPROVEN for r in requirements) or (Flag.PROMPT_INJECTION_SUSPECTED in flags)
    if capped and recommendation == Recommendation.ADVANCE:
        recommendation = Recommendation.REVIEW
    return score, recommendation


def input_hash(scorer: str, prompt_version: str, inputs: dict[str, Any]) -> str:
    """sha256 over a canonical JSON form of everything a score depends on."""
    payload = {"scorer": scorer, "prompt_version": prompt_version, "inputs": inputs}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def embedded_inputs(embedded: cv_pb2.CvEmbedded, thresholds: Thresholds) -> dict[str, Any]:
    """The parts of a CvEmbedded that a scorer reads (no ids, no timestamps)."""
    return {
        "model": embedded.embedding_model,
        "thresholds": [thresholds.advance, thresholds.reject],
        "parse_quality": round(float(embedded.parse_quality), 6),
        "redacted_text": embedded.redacted_text,
        "hidden_text": [h.text for h in embedded.hidden_text],
        "evidence": [
            {
                "requirement": [e.requirement.id, e.requirement.text, int(e.requirement.kind), e.requirement.weight],
                "chunks": [
                    [c.chunk_id, c.text, round(float(c.similarity), 6), c.span.start, c.span.end] for c in e.chunks
                ],
            }
            for e in embedded.evidence
        ],
    }


_VERDICTS = {
    Verdict.MET: score_pb2.VERDICT_MET,
    Verdict.PARTIAL: score_pb2.VERDICT_PARTIAL,
    Verdict.MISSING: score_pb2.VERDICT_MISSING,
    Verdict.UNVERIFIABLE: score_pb2.VERDICT_UNVERIFIABLE,
}
_RECOMMENDATIONS = {
    Recommendation.ADVANCE: score_pb2.RECOMMENDATION_ADVANCE,
    Recommendation.REVIEW: score_pb2.RECOMMENDATION_REVIEW,
    Recommendation.REJECT: score_pb2.RECOMMENDATION_REJECT,
}


def to_cv_scored(embedded: cv_pb2.CvEmbedded, result: ScoreResult, scored_at: datetime) -> score_pb2.CvScored:
    event = score_pb2.CvScored(
        application_id=embedded.application_id,
        job_id=embedded.job_id,
        job_version=embedded.job_version,
        candidate_id=embedded.candidate_id,
        score=result.score,
        recommendation=_RECOMMENDATIONS[result.recommendation],
        flags=[str(f) for f in result.flags],
        scorer=result.scorer,
        model=result.model,
        prompt_version=result.prompt_version,
        input_hash=result.input_hash,
        summary=result.summary,
        usage=score_pb2.Usage(
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            calls=result.usage.calls,
            retries=result.usage.retries,
            latency_seconds=result.usage.latency_seconds,
        ),
    )
    for r in result.requirements:
        event.requirements.append(
            score_pb2.RequirementScore(
                requirement=common_pb2.Requirement(
                    id=r.requirement_id,
                    text=r.text,
                    kind=common_pb2.REQUIREMENT_KIND_MUST if r.must else common_pb2.REQUIREMENT_KIND_NICE,
                    weight=r.weight,
                ),
                score=r.score,
                verdict=_VERDICTS[r.verdict],
                quotes=[score_pb2.Quote(text=q.text, span=common_pb2.Span(start=q.start, end=q.end)) for q in r.quotes],
                reason=r.reason,
            )
        )
    event.scored_at.FromDatetime(scored_at)
    if embedded.HasField("submitted_at"):
        event.submitted_at.CopyFrom(embedded.submitted_at)
    return event
