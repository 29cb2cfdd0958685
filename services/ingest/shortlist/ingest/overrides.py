"""Human overrides of a computed score: recorded next to it with a mandatory reason, never over it.

Every override is a new row (the history is kept); the latest one is the current override. A re-score replaces
the computed score on the application and leaves the overrides alone. Reasons may hold personal data: they are
never logged, and they are deleted with the candidate (see erasure.py).
"""

import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, select

from shortlist.ingest import metrics
from shortlist.ingest.store import ScoreOverride, Store, utcnow
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import ApiError, error_responses

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 2000
#: Overrides shown in an application's history, newest first.
HISTORY_LIMIT = 50


class OverrideIn(BaseModel):
    """``POST /v1/applications/{id}/override``: a score, a recommendation or both, and why."""

    score: float | None = Field(None, ge=0, le=100, strict=True)
    recommendation: Literal["advance", "review", "reject"] | None = None
    reason: str = Field(max_length=MAX_REASON_CHARS)
    by: str | None = Field(None, max_length=200, description="The reviewer's name or id")

    @field_validator("reason")
    @classmethod
    def reason_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason_required")
        return value.strip()

    @field_validator("by")
    @classmethod
    def strip_by(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @model_validator(mode="after")
    def something_to_override(self) -> "OverrideIn":
        if self.score is None and self.recommendation is None:
            raise ValueError("nothing_to_override")
        return self


def parse_override(raw: bytes) -> OverrideIn:
    """The body, or a 422 with a stable code: ``reason_required``, ``nothing_to_override``, ``invalid_request``."""
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise ApiError(422, "invalid_request", "the body is not JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "send a JSON object")
    if not isinstance(data.get("reason"), str) or not data["reason"].strip():
        raise ApiError(422, "reason_required", "an override needs a non-blank 'reason'")
    try:
        return OverrideIn.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        if any("nothing_to_override" in str(e.get("msg")) for e in errors):
            raise ApiError(422, "nothing_to_override", "give a 'score' (0-100), a 'recommendation' or both") from exc
        # Only field names and rules go back, never the values sent (a reason may hold personal data).
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors)
        raise ApiError(422, "invalid_request", problems) from exc


def override_view(row: ScoreOverride) -> dict[str, Any]:
    return {
        "score": row.score,
        "recommendation": row.recommendation,
        "reason": row.reason,
        "by": row.reviewer,
        "at": row.created_at.isoformat(),
        "computed_score": row.computed_score,
        "computed_recommendation": row.computed_recommendation,
    }


async def overrides_of(store: Store, application_ids: Sequence[str], limit: int | None = None) -> list[ScoreOverride]:
    """The overrides of these applications, newest first."""
    if not application_ids:
        return []
    query = (
        select(ScoreOverride)
        .where(ScoreOverride.application_id.in_(list(application_ids)))
        .order_by(ScoreOverride.created_at.desc(), ScoreOverride.id)
    )
    if limit is not None:
        query = query.limit(limit)
    async with store.sessions() as session:
        return list(await session.scalars(query))


async def latest_overrides(store: Store, application_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The current override of each application that has one."""
    latest: dict[str, dict[str, Any]] = {}
    for row in await overrides_of(store, application_ids):
        latest.setdefault(row.application_id, override_view(row))
    return latest


async def history(store: Store, application_id: str) -> dict[str, Any]:
    """``override`` (the current one or None), ``override_count`` and ``overrides`` (newest first, bounded)."""
    rows = await overrides_of(store, [application_id], HISTORY_LIMIT + 1)
    views = [override_view(r) for r in rows[:HISTORY_LIMIT]]
    count = len(rows)
    if count > HISTORY_LIMIT:
        async with store.sessions() as session:
            where = ScoreOverride.application_id == application_id
            count = int(await session.scalar(select(func.count()).select_from(ScoreOverride).where(where)) or 0)
    return {"override": views[0] if views else None, "override_count": count, "overrides": views}


def override_router(store: Store, keys: KeyRing) -> APIRouter:
    api = APIRouter(tags=["applications"])

    @api.post(
        "/applications/{application_id}/override",
        status_code=201,
        dependencies=[Depends(keys.require("applications:write"))],
        responses=error_responses(409),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": OverrideIn.model_json_schema()}},
            }
        },
    )
    async def override(application_id: str, request: Request) -> dict[str, Any]:
        """Record a reviewer's score and/or recommendation with a mandatory reason, next to the computed score."""
        body = parse_override(await request.body())
        async with store.application_update(application_id) as update:
            row = update[1] if update is not None else None
            if update is None or row is None:
                raise ApiError(404, "application_not_found", f"application {application_id} does not exist")
            if row.score_value is None:
                raise ApiError(409, "not_scored", f"application {application_id} has no computed score yet")
            entry = ScoreOverride(
                id=str(uuid.uuid4()),
                application_id=application_id,
                score=body.score,
                recommendation=body.recommendation,
                reason=body.reason,
                reviewer=body.by,
                computed_score=row.score_value,
                computed_recommendation=row.recommendation,
                created_at=utcnow(),
            )
            update[0].add(entry)
        metrics.OVERRIDES.labels(body.recommendation or "none").inc()
        log.info("override recorded for application %s", application_id)
        return {"application_id": application_id, "score": row.score, **await history(store, application_id)}

    return api
