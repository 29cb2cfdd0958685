"""The notify service: consumes cv.scored.v1 and candidates.erased.v1, sends webhooks, serves the API."""

from fastapi import FastAPI

from shortlist.notify import targets
from shortlist.notify.api import router
from shortlist.notify.config import Settings
from shortlist.notify.erasure import ERASURE_GROUP, ErasureHandler
from shortlist.notify.handlers import Notifier
from shortlist.notify.sender import Sender
from shortlist.notify.store import Store
from shortlist.notify.worker import Worker
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.database import database_url
from shortlist.runtime.http import create_app
from shortlist.runtime.service import Service
from shortlist.runtime.topics import CANDIDATES_ERASED, CV_SCORED

GROUP_ID = "shortlist-notify"


def build(settings: Settings, lookup: targets.Lookup = targets.system_lookup) -> tuple[Service, FastAPI]:
    """``lookup`` resolves webhook hosts (tests pass a stub resolver)."""
    service = Service(settings)
    store = Store(database_url(settings.database_url, settings.state_path("notify.db")))
    sender = Sender(
        settings.allowed_hosts,
        settings.webhook_timeout_seconds,
        settings.webhook_max_response_bytes,
        lookup,
        connections=settings.webhook_max_in_flight,
    )
    worker = Worker(settings, store, sender)
    notifier = Notifier(store, service.producer, worker)
    service.on_start(store.start)
    service.on_start(sender.start)
    service.on_start(worker.start)
    service.on_stop(worker.stop)
    service.on_stop(sender.stop)
    service.on_stop(store.stop)
    service.consume(GROUP_ID, {CV_SCORED: notifier.handle_scored})
    service.consume(ERASURE_GROUP, {CANDIDATES_ERASED: ErasureHandler(store).on_candidate_erased})
    api = router(
        store,
        worker,
        sender,
        settings.allowed_hosts,
        KeyRing(settings.api_keys),
        settings.webhook_secret_grace_seconds,
        lookup,
    )
    app = create_app(settings.service_name, service.readiness, routers=[api])
    return service, app
