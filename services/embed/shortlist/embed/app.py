"""Wiring of the embed service: consumers, vector store, model and HTTP routes."""

import asyncio

from fastapi import APIRouter, Depends, FastAPI

from shortlist.embed.api import router as search_router
from shortlist.embed.config import Settings
from shortlist.embed.embedder import Embedder, create_embedder
from shortlist.embed.erasure import ERASURE_GROUP, ErasureHandler
from shortlist.embed.handlers import EmbedHandlers
from shortlist.embed.metrics import VECTORS
from shortlist.embed.stores import open_store
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import create_app
from shortlist.runtime.service import Service
from shortlist.runtime.topics import CANDIDATES_ERASED, CV_INGESTED, JOBS_POSTED

CV_GROUP = "shortlist-embed"
JOBS_GROUP = "shortlist-embed-jobs"


def build(settings: Settings | None = None, embedder: Embedder | None = None) -> tuple[Service, FastAPI]:
    """The embed service. ``embedder`` defaults to ``SHORTLIST_EMBEDDER`` (tests pass one loaded model to share)."""
    settings = settings or Settings()
    model = embedder or create_embedder(settings)
    store = open_store(settings, model.dimension, model.embedder_id)
    service = Service(settings)
    handlers = EmbedHandlers(settings, model, store, service.producer)
    # Jobs have their own group, so a backlog of CVs never delays the job that parked CVs wait for.
    service.consume(JOBS_GROUP, {JOBS_POSTED: handlers.on_job_posted})
    service.consume(CV_GROUP, {CV_INGESTED: handlers.on_cv_ingested})
    service.consume(ERASURE_GROUP, {CANDIDATES_ERASED: ErasureHandler(store).on_candidate_erased})

    loading: list[asyncio.Task[None]] = []

    async def start() -> None:
        await store.start()
        await handlers.start()
        # The model loads while the consumers join their groups.
        loading.append(asyncio.create_task(asyncio.to_thread(model.load), name="load embedding model"))

    async def stop() -> None:
        for task in loading:
            await asyncio.gather(task, return_exceptions=True)
        await handlers.stop()
        await store.close()

    service.on_start(start)
    service.on_stop(stop)

    async def count_vectors() -> None:
        VECTORS.set(await store.count_chunks())

    service.every(settings.gauge_refresh_seconds, count_vectors)

    async def readiness() -> str | None:
        if not loading or not loading[0].done():
            return "loading the embedding model"
        if loading[0].exception() is not None:
            return "the embedding model failed to load"
        return await service.readiness()

    guarded = APIRouter(dependencies=[Depends(KeyRing(settings.api_keys).require("search:read"))])
    guarded.include_router(search_router)
    app = create_app("embed", readiness, routers=[guarded])
    app.state.store = store
    app.state.embedder = model
    app.state.handlers = handlers
    return service, app
