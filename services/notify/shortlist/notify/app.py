"""The notify service: consumes cv.scored.v1 and candidates.erased.v1, serves the subscription API."""

from fastapi import FastAPI

from shortlist.notify.api import router
from shortlist.notify.config import Settings
from shortlist.notify.erasure import ERASURE_GROUP, ErasureHandler
from shortlist.notify.handlers import Notifier
from shortlist.notify.store import Store
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.database import database_url
from shortlist.runtime.http import create_app
from shortlist.runtime.service import Service
from shortlist.runtime.topics import CANDIDATES_ERASED, CV_SCORED

GROUP_ID = "shortlist-notify"


def build(settings: Settings) -> tuple[Service, FastAPI]:
    service = Service(settings)
    store = Store(database_url(settings.database_url, settings.state_path("notify.db")))
    notifier = Notifier(settings, store, service.producer)
    service.on_start(store.start)
    service.on_start(notifier.start)
    service.on_stop(store.stop)
    service.on_stop(notifier.stop)
    service.consume(GROUP_ID, {CV_SCORED: notifier.handle_scored})
    service.consume(ERASURE_GROUP, {CANDIDATES_ERASED: ErasureHandler(store).on_candidate_erased})
    app = create_app(
        settings.service_name,
        service.readiness,
        routers=[router(store, settings.allowed_hosts, KeyRing(settings.api_keys))],
    )
    return service, app
