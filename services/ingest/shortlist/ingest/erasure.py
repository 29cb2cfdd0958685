"""Candidate erasure: ``DELETE /v1/candidates/{id}`` and the ``candidates.erased.v1`` consumer.

The route publishes ``CandidateErased`` (key: candidate id) naming the candidate's applications, so embed and
score erase their data too, then erases ingest's own rows at once. Ingest also consumes the topic, so an
erasure published by an upstream system applies here as well. Erasing is idempotent: the applications, their
score overrides (reasons may hold personal data) are deleted, and a tombstone per application keeps late
events from creating the row again.
"""

import logging
import uuid
from collections.abc import Iterable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import delete, select

from shortlist.ingest import metrics
from shortlist.ingest.store import Application, ErasedApplication, ScoreOverride, Store, StoredWork, utcnow
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.erasure import erasure_request
from shortlist.runtime.http import ApiError
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.v1 import cv_pb2

log = logging.getLogger(__name__)


async def applications_of(store: Store, candidate_id: str) -> list[str]:
    async with store.sessions() as session:
        rows = await session.scalars(select(Application.id).where(Application.candidate_id == candidate_id))
        return sorted(rows)


async def erase(store: Store, candidate_id: str, application_ids: Iterable[str], at: datetime) -> list[str]:
    """Delete the candidate's applications (by candidate id and the ids given) and their overrides; tombstone them.

    Returns the application ids erased. Holds each application's lock, so a read-model update in flight
    cannot write the row back.
    """
    ids = set(application_ids)
    if candidate_id:
        ids.update(await applications_of(store, candidate_id))
    ordered = sorted(ids)
    async with AsyncExitStack() as locks:
        for application_id in ordered:
            await locks.enter_async_context(store.lock(f"application/{application_id}"))
        async with store.sessions() as session:
            if ordered:
                await session.execute(delete(ScoreOverride).where(ScoreOverride.application_id.in_(ordered)))
                await session.execute(delete(Application).where(Application.id.in_(ordered)))
                await session.execute(delete(StoredWork).where(StoredWork.application_id.in_(ordered)))
                known = set(
                    await session.scalars(
                        select(ErasedApplication.application_id).where(ErasedApplication.application_id.in_(ordered))
                    )
                )
                session.add_all(ErasedApplication(application_id=i, erased_at=at) for i in ordered if i not in known)
            await session.commit()
    return ordered


class ErasureHandler:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def on_candidate_erased(self, record: Record) -> None:
        request = erasure_request(record)
        erased = await erase(self._store, request.candidate_id, request.application_ids, request.erased_at)
        metrics.ERASURES.labels("event").inc()
        log.info("candidate erasure applied: %d applications", len(erased))


def erasure_router(store: Store, producer: EventProducer, keys: KeyRing) -> APIRouter:
    api = APIRouter(tags=["candidates"])

    @api.delete("/candidates/{candidate_id}", status_code=202, dependencies=[Depends(keys.require("candidates:write"))])
    async def erase_candidate(candidate_id: str) -> dict[str, Any]:
        """Erase a candidate everywhere: ingest's rows at once, embed's vectors and score's audit rows by event."""
        if not candidate_id.strip() or len(candidate_id) > 128:
            raise ApiError(422, "invalid_request", "the candidate id must have 1-128 characters")
        at = utcnow()
        application_ids = await applications_of(store, candidate_id)
        erased_at = Timestamp()
        erased_at.FromDatetime(at)
        event = cv_pb2.CandidateErased(candidate_id=candidate_id, application_ids=application_ids, erased_at=erased_at)
        try:
            await producer.publish(event, key=candidate_id, event_id=str(uuid.uuid4()))
        except Exception as exc:
            log.warning("publishing CandidateErased failed: %r", exc)
            raise ApiError(503, "broker_unavailable", "the erasure could not be published; try again") from exc
        erased = await erase(store, candidate_id, application_ids, at)
        metrics.ERASURES.labels("api").inc()
        return {"candidate_id": candidate_id, "application_ids": erased, "erased_at": at.isoformat()}

    return api
