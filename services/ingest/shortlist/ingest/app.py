"""The ingest service: REST API for jobs and applications, the cv.submitted.v1 consumer and the status read model."""

from fastapi import FastAPI

from shortlist.ingest.api import router
from shortlist.ingest.config import Settings
from shortlist.ingest.handlers import IngestHandlers
from shortlist.ingest.metrics import APPLICATIONS
from shortlist.ingest.pipeline import Ingestor
from shortlist.ingest.redrive import Redriver, redrive_router
from shortlist.ingest.store import STATUSES, Store
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import create_app
from shortlist.runtime.service import Service


def build(settings: Settings | None = None) -> tuple[Service, FastAPI]:
    settings = settings or Settings()
    service = Service(settings)
    store = Store.for_settings(settings.database_url, settings.state_path("ingest.db"))
    ingestor = Ingestor(settings, store, service.producer)
    service.consume(settings.consumer_group, IngestHandlers(store, ingestor).routes())
    redriver = Redriver(settings, store, service.producer)
    service.on_start(store.create)
    service.on_start(redriver.start)
    service.on_stop(store.close)
    service.on_stop(redriver.stop)  # stop hooks run in reverse: the re-drive stops before the store closes

    async def count_applications() -> None:
        counts = await store.count_by_status()
        for status in (*STATUSES, "failed"):
            APPLICATIONS.labels(status).set(counts.get(status, 0))

    service.every(settings.gauge_refresh_seconds, count_applications)

    async def readiness() -> str | None:
        reason = await service.readiness()
        if reason is not None:
            return reason
        try:
            await store.ping()
        except Exception:
            return "database unavailable"
        return None

    keys = KeyRing(settings.api_keys)
    routers = [router(settings, store, ingestor, service.producer), redrive_router(redriver, keys)]
    app = create_app(settings.service_name, readiness, routers=routers)
    app.state.store = store
    app.state.redriver = redriver
    return service, app
