"""Re-drive: publish again the work of applications that did not get through the pipeline in time.

A broker that keeps records in memory (the embedded Tansu) loses everything in flight when it restarts, and
a service killed mid-record may leave work no consumer will pick up again. Ingest owns every application's
status, so it finds those left behind, not yet ``notified`` (a lost ``CvScored`` strands an application after
scoring as surely as a lost ``CvIngested`` before it), and publishes their stored ``CvIngested`` again with the
same ``ce_id``, and the job's ``JobPosted`` with its same id in case embed never saw it. Every step downstream
derives its event ids from its input's and stores its effects once per event id, so nothing is done twice.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select, update

from shortlist.ingest import metrics
from shortlist.ingest.api import job_posted
from shortlist.ingest.config import Settings
from shortlist.ingest.pipeline import derived_id
from shortlist.ingest.store import RANK, Application, Store, StoredWork, utcnow
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.producer import EventProducer
from shortlist.v1 import cv_pb2

log = logging.getLogger(__name__)

#: A year: with the wait doubled per re-drive, a longer one would pass the largest date there is.
MAX_WAIT_SECONDS = 365 * 24 * 3600


@dataclass
class Redriven:
    applications: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)


class Redriver:
    def __init__(self, settings: Settings, store: Store, producer: EventProducer) -> None:
        self._settings = settings
        self._store = store
        self._producer = producer
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def redrive(self, older_than_seconds: float | None = None) -> Redriven:
        """Publish the work of applications not notified, not failed, and untouched for ``older_than_seconds``.

        The wait doubles with every re-drive of an application (work that is only slow, in a backlog, is not
        published again and again), and an application is re-driven at most ``redrive_max_attempts`` times (a
        webhook target that is down for good must not make its CV go round for ever).
        """
        wait = self._settings.redrive_after_seconds if older_than_seconds is None else older_than_seconds
        cutoff = utcnow() - timedelta(seconds=wait)
        query = (
            select(StoredWork, Application.job_id)
            .join(Application, Application.id == StoredWork.application_id)
            .where(
                Application.progress < RANK["notified"],
                Application.status != "failed",
                StoredWork.redrives < self._settings.redrive_max_attempts,
                func.coalesce(StoredWork.redriven_at, StoredWork.stored_at) <= cutoff,
            )
            .order_by(StoredWork.stored_at)
            .limit(self._settings.redrive_batch)
        )
        done = Redriven()
        async with self._lock:
            async with self._store.sessions() as session:
                rows = [row for row in (await session.execute(query)).all() if _due(row[0], wait)]
            for job_id in sorted({job_id for _, job_id in rows}):
                job = await self._store.get_job(job_id)
                if job is not None:
                    event_id = derived_id("job", job.id, str(job.version))
                    await self._producer.publish(job_posted(job), key=job.id, event_id=event_id)
                    done.jobs.append(job.id)
            for work, _ in rows:
                event = cv_pb2.CvIngested.FromString(work.payload)
                await self._producer.publish(event, key=work.application_id, event_id=work.event_id)
                async with self._store.sessions() as session:
                    await session.execute(
                        update(StoredWork)
                        .where(StoredWork.application_id == work.application_id)
                        .values(redriven_at=utcnow(), redrives=StoredWork.redrives + 1)
                    )
                    await session.commit()
                done.applications.append(work.application_id)
        metrics.REDRIVEN.labels("job").inc(len(done.jobs))
        metrics.REDRIVEN.labels("application").inc(len(done.applications))
        if done.applications:
            log.info("re-drove %d application(s) of %d job(s)", len(done.applications), len(done.jobs))
        return done

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redrive")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        """Once the producer is up (right after start), then every ``redrive_interval_seconds`` (0: only once)."""
        await asyncio.sleep(self._settings.redrive_start_delay_seconds)
        while True:
            try:
                await self.redrive()
            except Exception as exc:  # the broker may be away; the next round tries again
                log.warning("re-drive failed: %r", exc)
            if self._settings.redrive_interval_seconds <= 0:
                return
            await asyncio.sleep(self._settings.redrive_interval_seconds)


def _due(work: StoredWork, wait: float) -> bool:
    last = work.redriven_at or work.stored_at
    return last + timedelta(seconds=wait * 2**work.redrives) <= utcnow()


def redrive_router(redriver: Redriver, keys: KeyRing) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["applications"])

    @api.post("/redrive", dependencies=[Depends(keys.require("applications:write"))])
    async def redrive(
        older_than_seconds: float | None = Query(
            None,
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="Applications untouched this long (default: SHORTLIST_REDRIVE_AFTER_SECONDS), a year at most",
        ),
    ) -> dict[str, object]:
        """Publish again the work of applications not through in time (same event ids: nothing is done twice)."""
        done = await redriver.redrive(older_than_seconds)
        return {"applications": len(done.applications), "jobs": len(done.jobs), "application_ids": done.applications}

    return api
