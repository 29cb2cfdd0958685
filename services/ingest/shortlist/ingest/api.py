"""REST routes of ingest: jobs, applications, status and ranking."""

import logging
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field, field_validator

from shortlist.ingest.config import Settings
from shortlist.ingest.extraction import ExtractionError
from shortlist.ingest.pipeline import Ingestor, Submission, derived_id
from shortlist.ingest.requirements import default_weight, derive_requirements
from shortlist.ingest.store import STATUSES, Application, Job, Store, utcnow
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import ApiError
from shortlist.runtime.producer import EventProducer
from shortlist.v1 import common_pb2, jobs_pb2

log = logging.getLogger(__name__)

ERROR_STATUS = {"too_large": 413, "unsupported_media_type": 415}
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


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def job_view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "version": job.version,
        "title": job.title,
        "description": job.description,
        "requirements": job.requirements,
        "created_at": iso(job.created_at),
    }


def application_view(row: Application) -> dict[str, Any]:
    timeline = [
        {"status": status, "at": iso(getattr(row, f"{status}_at"))}
        for status in STATUSES
        if getattr(row, f"{status}_at") is not None
    ]
    failure = None
    if row.status == "failed":
        timeline.append({"status": "failed", "at": iso(row.failed_at)})
        failure = {"code": row.failure_code, "message": row.failure_message, "step": row.failure_step}
    return {
        "id": row.id,
        "job_id": row.job_id,
        "job_version": row.job_version,
        "candidate_id": row.candidate_id,
        "external_id": row.external_id,
        "status": row.status,
        "timeline": timeline,
        "failure": failure,
        "score": row.score,
    }


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
    write_applications = [Depends(keys.require("applications:write"))]

    async def existing_job(job_id: str) -> Job:
        job = await store.get_job(job_id)
        if job is None:
            raise ApiError(404, "job_not_found", f"job {job_id} does not exist")
        return job

    @api.post("/jobs", status_code=201, tags=["jobs"], dependencies=write_jobs)
    async def create_job(body: JobIn) -> dict[str, Any]:
        job_id = str(uuid.uuid4())
        drafts: list[tuple[str, str, float]]
        if body.requirements:
            drafts = [(r.text.strip(), r.kind, r.weight or default_weight(r.kind)) for r in body.requirements]
        else:
            drafts = [(d.text, d.kind, d.weight) for d in derive_requirements(body.description)]
        if not drafts:
            raise ApiError(422, "no_requirements", "no requirements found in the description; give them explicitly")
        requirements = [
            {"id": f"{job_id}-r{index}", "text": text, "kind": kind, "weight": weight}
            for index, (text, kind, weight) in enumerate(drafts, start=1)
        ]
        job = Job(
            id=job_id,
            version=1,
            title=body.title,
            description=body.description,
            requirements=requirements,
            created_at=utcnow(),
        )
        try:
            await producer.publish(job_posted(job), key=job.id, event_id=derived_id("job", job.id, "1"))
        except Exception as exc:
            log.warning("publishing JobPosted failed: %r", exc)
            raise ApiError(503, "broker_unavailable", "the job could not be published; try again") from exc
        await store.add(job)
        return job_view(job)

    @api.get("/jobs", tags=["jobs"], dependencies=read_jobs)
    async def list_jobs(
        limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0
    ) -> dict[str, Any]:
        total, jobs = await store.list_jobs(limit, offset)
        return {"total": total, "items": [job_view(job) for job in jobs]}

    @api.get("/jobs/{job_id}", tags=["jobs"], dependencies=read_jobs)
    async def get_job(job_id: str) -> dict[str, Any]:
        return job_view(await existing_job(job_id))

    @api.get("/jobs/{job_id}/ranking", tags=["jobs"], dependencies=read_applications)
    async def ranking(
        job_id: str,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        await existing_job(job_id)
        total, rows = await store.ranking(job_id, limit, offset)
        items = [
            {
                "application_id": row.id,
                "candidate_name": row.candidate_name,
                "external_id": row.external_id,
                "score": row.score_value,
                "recommendation": row.recommendation,
                "status": row.status,
                "top_evidence": top_evidence(row.score),
            }
            for row in rows
        ]
        return {"job_id": job_id, "total": total, "items": items}

    @api.post("/applications", status_code=202, tags=["applications"], dependencies=write_applications)
    async def submit(
        request: Request,
        file: Annotated[UploadFile, File()],
        job_id: Annotated[str, Form(min_length=1, max_length=64)],
        candidate_name: Annotated[str | None, Form(max_length=300)] = None,
        candidate_email: Annotated[str | None, Form(max_length=300)] = None,
        external_id: Annotated[str | None, Form(max_length=300)] = None,
    ) -> dict[str, Any]:
        submitted_at = utcnow()
        job = await existing_job(job_id)
        data = await file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise ApiError(413, "too_large", f"the file is larger than {settings.max_upload_bytes} bytes")
        submission = Submission(
            application_id=str(uuid.uuid4()),
            job_id=job.id,
            data=data,
            filename=file.filename or "",
            content_type=file.content_type,
            candidate_id=derived_id("candidate", candidate_email.strip().lower()) if candidate_email else "",
            candidate_name=(candidate_name or "").strip() or None,
            candidate_email=candidate_email,
            external_id=external_id or None,
            submitted_at=submitted_at,
        )
        try:
            extracted = await ingestor.extract(submission)
        except ExtractionError as exc:
            raise ApiError(ERROR_STATUS.get(exc.code, 422), exc.code, exc.message) from exc
        await ingestor.record_received(submission)
        try:
            await ingestor.publish(submission, extracted, job.version)
        except Exception as exc:
            log.warning("publishing CvIngested failed: %r", exc)
            await ingestor.fail(submission.application_id, "broker_unavailable", "the CV could not be published")
            raise ApiError(503, "broker_unavailable", "the CV could not be published; try again") from exc
        return {
            "id": submission.application_id,
            "job_id": job.id,
            "status": "ingested",
            "status_url": f"/v1/applications/{submission.application_id}",
        }

    @api.get("/applications/{application_id}", tags=["applications"], dependencies=read_applications)
    async def get_application(application_id: str) -> dict[str, Any]:
        row = await store.get_application(application_id)
        if row is None:
            raise ApiError(404, "application_not_found", f"application {application_id} does not exist")
        return application_view(row)

    return api
