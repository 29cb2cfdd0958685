"""The JSON body of the ``cv.scored`` webhook."""

import json
from typing import Any

from shortlist.v1 import common_pb2, score_pb2


def _name(prefix: str, full: str) -> str:
    return full.removeprefix(prefix).lower()


def _requirement(item: score_pb2.RequirementScore) -> dict[str, Any]:
    requirement = item.requirement
    return {
        "id": requirement.id,
        "text": requirement.text,
        "kind": _name("REQUIREMENT_KIND_", common_pb2.RequirementKind.Name(requirement.kind)),
        "weight": round(requirement.weight, 3),
        "score": round(item.score, 2),
        "verdict": _name("VERDICT_", score_pb2.Verdict.Name(item.verdict)),
        "reason": item.reason,
        "quotes": [quote.text for quote in item.quotes],
    }


def recommendation_name(value: int) -> str:
    return _name("RECOMMENDATION_", score_pb2.Recommendation.Name(value))


def scored_body(event_id: str, scored: score_pb2.CvScored) -> bytes:
    body = {
        "type": "cv.scored",
        "event_id": event_id,
        "application_id": scored.application_id,
        "job_id": scored.job_id,
        "job_version": scored.job_version,
        "score": round(scored.score, 2),
        "recommendation": recommendation_name(scored.recommendation),
        "flags": list(scored.flags),
        "requirements": [_requirement(item) for item in scored.requirements],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
