"""REST routes for applications: one CV (multipart or JSON), a batch of files, and the status of one."""

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from shortlist.ingest.config import Settings
from shortlist.ingest.extraction import ExtractionError
from shortlist.ingest.overrides import history
from shortlist.ingest.pipeline import Ingestor, Submission, derived_id
from shortlist.ingest.store import STATUSES, Application, Job, Store, utcnow
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import ApiError, error_responses

log = logging.getLogger(__name__)

ERROR_STATUS = {"too_large": 413, "unsupported_media_type": 415}
MAX_BATCH_FILES = 100
_FORM_FIELDS = 20


class ApplicationIn(BaseModel):
    """A CV as JSON text (``POST /v1/applications`` with ``Content-Type: application/json``)."""

    job_id: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1)
    filename: str | None = Field(None, max_length=300, description="e.g. cv.md or cv.html to say how to read text")
    candidate_name: str | None = Field(None, max_length=300)
    candidate_email: str | None = Field(None, max_length=300)
    external_id: str | None = Field(None, max_length=300)


@dataclass
class Document:
    data: bytes
    filename: str
    content_type: str | None


def accepted(row_id: str, job_id: str, status: str, duplicate: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row_id,
        "job_id": job_id,
        "status": status,
        "status_url": f"/v1/applications/{row_id}",
    }
    if duplicate:
        body["duplicate"] = True
    return body


def application_router(settings: Settings, store: Store, ingestor: Ingestor, keys: KeyRing) -> APIRouter:
    api = APIRouter(tags=["applications"])
    write = [Depends(keys.require("applications:write"))]
    read = [Depends(keys.require("applications:read"))]

    async def existing_job(job_id: str) -> Job:
        job = await store.get_job(job_id)
        if job is None:
            raise ApiError(404, "job_not_found", f"job {job_id} does not exist")
        return job

    async def read_upload(upload: UploadFile) -> Document:
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise ApiError(413, "too_large", f"the file is larger than {settings.max_upload_bytes} bytes")
        return Document(data, upload.filename or "", upload.content_type)

    async def form(request: Request, max_files: int) -> FormData:
        try:
            return await request.form(max_files=max_files, max_fields=max_files + _FORM_FIELDS)
        except (MultiPartException, HTTPException) as exc:  # Starlette turns the first into the second
            if "too many files" in str(getattr(exc, "detail", exc)).lower():
                raise ApiError(413, "too_many_files", f"send at most {max_files} files at once") from exc
            raise ApiError(400, "bad_request", "the multipart body cannot be read") from exc

    async def ingest_one(job: Job, document: Document, fields: dict[str, str | None]) -> tuple[int, dict[str, Any]]:
        """Extract and publish one CV: (201-like 202, or 200 for a duplicate) and the answer's body."""
        content_hash = hashlib.sha256(document.data).hexdigest()
        earlier = await store.find_duplicate(job.id, content_hash)
        if earlier is not None:
            return 200, accepted(earlier.id, job.id, earlier.status, duplicate=True)
        email = (fields.get("candidate_email") or "").strip() or None
        submission = Submission(
            application_id=str(uuid.uuid4()),
            job_id=job.id,
            data=document.data,
            filename=document.filename,
            content_type=document.content_type,
            candidate_id=derived_id("candidate", email.lower()) if email else "",
            candidate_name=(fields.get("candidate_name") or "").strip() or None,
            candidate_email=email,
            external_id=(fields.get("external_id") or "").strip() or None,
            submitted_at=utcnow(),
        )
        try:
            extracted = await ingestor.extract(submission)
        except ExtractionError as exc:
            raise ApiError(ERROR_STATUS.get(exc.code, 422), exc.code, exc.message) from exc
        async with store.lock(f"content/{job.id}/{content_hash}"):
            earlier = await store.find_duplicate(job.id, content_hash)
            if earlier is not None:
                return 200, accepted(earlier.id, job.id, earlier.status, duplicate=True)
            event = await ingestor.record_received(submission, extracted)
        try:
            await ingestor.publish(event, job.version)
        except Exception as exc:
            log.warning("publishing CvIngested failed: %r", exc)
            await ingestor.fail(submission.application_id, "broker_unavailable", "the CV could not be published")
            raise ApiError(503, "broker_unavailable", "the CV could not be published; try again") from exc
        return 202, accepted(submission.application_id, job.id, "ingested")

    @api.post(
        "/applications",
        status_code=202,
        dependencies=write,
        responses={
            200: {"description": "The same CV was already submitted for this job: the earlier application"},
            **error_responses(413, 415),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "job_id"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "job_id": {"type": "string"},
                                "candidate_name": {"type": "string"},
                                "candidate_email": {"type": "string"},
                                "external_id": {"type": "string"},
                            },
                        }
                    },
                    "application/json": {"schema": ApplicationIn.model_json_schema()},
                },
            }
        },
    )
    async def submit(request: Request, response: Response) -> dict[str, Any]:
        """One CV: multipart ``file`` + ``job_id`` (+ optional fields), or JSON ``{"job_id", "text", ...}``."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "application/json":
            raw = await bounded_body(request, 2 * settings.max_upload_bytes)
            try:
                body = ApplicationIn.model_validate_json(raw)
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ApiError(422, "invalid_request", problems) from exc
            data = body.text.encode("utf-8")
            if len(data) > settings.max_upload_bytes:
                raise ApiError(413, "too_large", f"the text is larger than {settings.max_upload_bytes} bytes")
            job = await existing_job(body.job_id)
            document = Document(data, body.filename or "cv.txt", None if body.filename else "text/plain")
            fields = body.model_dump(include={"candidate_name", "candidate_email", "external_id"})
        elif media == "multipart/form-data":
            received = await form(request, 1)
            upload, job_id = received.get("file"), received.get("job_id")
            if not isinstance(upload, UploadFile) or not isinstance(job_id, str) or not job_id.strip():
                raise ApiError(422, "invalid_request", "send the CV as 'file' and the job as 'job_id'")
            job = await existing_job(job_id.strip())
            document = await read_upload(upload)
            fields = {k: v for k, v in received.items() if isinstance(v, str)}
        else:
            raise ApiError(415, "unsupported_media_type", "send multipart/form-data with a file, or JSON with text")
        status, answer = await ingest_one(job, document, fields)
        response.status_code = status
        return answer

    @api.post("/applications/batch", dependencies=write, responses=error_responses(413))
    async def submit_batch(request: Request) -> JSONResponse:
        """Up to 100 files (multipart ``files``, repeated) for one ``job_id``; one result per file, in order."""
        received = await form(request, MAX_BATCH_FILES)
        job_id = received.get("job_id")
        if not isinstance(job_id, str) or not job_id.strip():
            raise ApiError(422, "invalid_request", "send the job as 'job_id'")
        uploads = [f for key in ("files", "file") for f in received.getlist(key) if isinstance(f, UploadFile)]
        if not uploads:
            raise ApiError(422, "invalid_request", "send the CVs as 'files'")
        job = await existing_job(job_id.strip())
        items: list[dict[str, Any]] = []
        for upload in uploads:
            item: dict[str, Any] = {"filename": upload.filename or ""}
            try:
                status, answer = await ingest_one(job, await read_upload(upload), {})
                item |= {"status_code": status, **answer}
            except ApiError as exc:
                item |= {"status_code": exc.status, "error": {"code": exc.code, "message": exc.message}}
            items.append(item)
        counts = {
            "accepted": sum(i["status_code"] == 202 for i in items),
            "duplicates": sum(i["status_code"] == 200 for i in items),
            "refused": sum(i["status_code"] >= 400 for i in items),
        }
        return JSONResponse({"job_id": job.id, "total": len(items), **counts, "items": items})

    @api.get("/applications/{application_id}", dependencies=read)
    async def get_application(application_id: str) -> dict[str, Any]:
        row = await store.get_application(application_id)
        if row is None:
            raise ApiError(404, "application_not_found", f"application {application_id} does not exist")
        return application_view(row) | await history(store, application_id)

    return api


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes (never read whole first)."""
    declared = request.headers.get("content-length", "")
    received = bytearray()
    if not (declared.isdigit() and int(declared) > limit):
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:
                break
        else:
            return bytes(received)
    raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
