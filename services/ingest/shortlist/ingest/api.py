"""REST routes of ingest: jobs, applications, status and ranking."""

import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field, field_validator

from shortlist.ingest.applications import application_router, iso
from shortlist.ingest.config import Settings
from shortlist.ingest.erasure import erasure_router
from shortlist.ingest.overrides import latest_overrides, override_router
from shortlist.ingest.pipeline import Ingestor, derived_id
from shortlist.ingest.requirements import default_weight, derive_requirements
from shortlist.ingest.store import Job, JobVersion, Store, utcnow
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import ApiError
from shortlist.runtime.producer import EventProducer
from shortlist.v1 import common_pb2, jobs_pb2

log = logging.getLogger(__name__)

#: The largest offset or version asked for: beyond it, a database's integer column would overflow (a 500).
MAX_INT = 2**31 - 1
_KINDS = {"must": common_pb2.REQUIREMENT_KIND_MUST, "nice": common_pb2.REQUIREMENT_KIND_NICE}


class RequirementIn(BaseModel):
    text: str = Field(min_length=1, max_length=1000)
    kind: Literal["must", "nice"] = "must"
    weight: float | None = Field(None, gt=0, le=10)


class JobIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=100_000)
    requirements: list[RequirementIn] | None = Field(None, max_length=100)

    @field_validator("title", "description")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


def job_view(job: Job | JobVersion) -> dict[str, Any]:
    return {
        "id": job.id if isinstance(job, Job) else job.job_id,
        "version": job.version,
        "title": job.title,
        "description": job.description,
        "requirements": job.requirements,
        "created_at": iso(job.created_at),
    }


def requirements_of(job_id: str, body: JobIn) -> list[dict[str, Any]]:
    drafts: list[tuple[str, str, float]]
    if body.requirements:
        drafts = [(r.text.strip(), r.kind, r.weight or default_weight(r.kind)) for r in body.requirements]
    else:
        drafts = [(d.text, d.kind, d.weight) for d in derive_requirements(body.description)]
    if not drafts:
        raise ApiError(422, "no_requirements", "no requirements found in the description; give them explicitly")
    return [
        {"id": f"{job_id}-r{index}", "text": text, "kind": kind, "weight": weight}
        for index, (text, kind, weight) in enumerate(drafts, start=1)
    ]


def top_evidence(score: dict[str, Any] | None, limit: int = 3) -> list[dict[str, str]]:
    requirements = sorted(
        (r for r in (score or {}).get("requirements", []) if r.get("quotes")),
        key=lambda r: (r.get("kind") != "must", -float(r.get("score") or 0)),
    )
    return [{"requirement": r["text"], "quote": r["quotes"][0]} for r in requirements[:limit]]


def job_posted(job: Job) -> jobs_pb2.JobPosted:
    posted = Timestamp()
    posted.FromDatetime(job.created_at)
    event = jobs_pb2.JobPosted(job_id=job.id, version=job.version, title=job.title, description=job.description)
    event.posted_at.CopyFrom(posted)
    event.requirements.extend(
        common_pb2.Requirement(id=r["id"], text=r["text"], kind=_KINDS[r["kind"]], weight=r["weight"])
        for r in job.requirements
    )
    return event


def router(settings: Settings, store: Store, ingestor: Ingestor, producer: EventProducer) -> APIRouter:
    api = APIRouter(prefix="/v1")
    keys = KeyRing(settings.api_keys)
    read_jobs = [Depends(keys.require("jobs:read"))]
    write_jobs = [Depends(keys.require("jobs:write"))]
    read_applications = [Depends(keys.require("applications:read"))]

    async def existing_job(job_id: str) -> Job:
        job = await store.get_job(job_id)
        if job is None:
            raise ApiError(404, "job_not_found", f"job {job_id} does not exist")
        return job

    async def publish(job: Job) -> None:
        try:
            await producer.publish(job_posted(job), key=job.id, event_id=derived_id("job", job.id, str(job.version)))
        except Exception as exc:
            log.warning("publishing JobPosted failed: %r", exc)
            raise ApiError(503, "broker_unavailable", "the job could not be published; try again") from exc

    @api.post("/jobs", status_code=201, tags=["jobs"], dependencies=write_jobs)
    async def create_job(body: JobIn) -> dict[str, Any]:
        job_id = str(uuid.uuid4())
        job = Job(
            id=job_id,
            version=1,
            title=body.title,
            description=body.description,
            requirements=requirements_of(job_id, body),
            created_at=utcnow(),
        )
        await publish(job)
        await store.add_job(job)
        return job_view(job)

    @api.put("/jobs/{job_id}", tags=["jobs"], dependencies=write_jobs)
    async def update_job(job_id: str, body: JobIn) -> dict[str, Any]:
        """A new version of the job (version + 1), published as JobPosted; scores name the version they used."""
        async with store.job_update(job_id) as (session, job):
            if job is None:
                raise ApiError(404, "job_not_found", f"job {job_id} does not exist")
            job.version += 1
            job.title, job.description = body.title, body.description
            job.requirements = requirements_of(job_id, body)
            job.created_at = utcnow()
            await publish(job)
            session.add(JobVersion.of(job))
        return job_view(job)

    @api.get("/jobs", tags=["jobs"], dependencies=read_jobs)
    async def list_jobs(
        limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0
    ) -> dict[str, Any]:
        total, jobs = await store.list_jobs(limit, offset)
        return {"total": total, "limit": limit, "offset": offset, "items": [job_view(job) for job in jobs]}

    @api.get("/jobs/{job_id}", tags=["jobs"], dependencies=read_jobs)
    async def get_job(job_id: str, version: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None) -> dict[str, Any]:
        """The latest version, or the one asked for with ``?version=``."""
        job = await existing_job(job_id)
        if version is None or version == job.version:
            return job_view(job)
        old = await store.get_job_version(job_id, version)
        if old is None:
            raise ApiError(404, "job_version_not_found", f"job {job_id} has no version {version}")
        return job_view(old)

    @api.get("/jobs/{job_id}/ranking", tags=["jobs"], dependencies=read_applications)
    async def ranking(
        job_id: str,
        recommendation: Annotated[
            list[Literal["advance", "review", "reject"]] | None,
            Query(description="Only these recommendations (repeat the parameter for several)"),
        ] = None,
        min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    ) -> dict[str, Any]:
        """Scored applications, best first by the computed score; each carries its reviewer's override, if any."""
        await existing_job(job_id)
        total, rows = await store.ranking(job_id, limit, offset, recommendation or (), min_score)
        overrides = await latest_overrides(store, [row.id for row in rows])
        items = [
            {
                "application_id": row.id,
                "candidate_name": row.candidate_name,
                "external_id": row.external_id,
                "score": row.score_value,
                "recommendation": row.recommendation,
                "status": row.status,
                "top_evidence": top_evidence(row.score),
                "override": overrides.get(row.id),
            }
            for row in rows
        ]
        return {"job_id": job_id, "total": total, "limit": limit, "offset": offset, "items": items}

    api.include_router(application_router(settings, store, ingestor, keys))
    api.include_router(override_router(store, keys))
    api.include_router(erasure_router(store, producer, keys))
    return api
