"""The score service: consumes cv.embedded.v1, publishes cv.scored.v1, serves the ops endpoints."""

from fastapi import FastAPI

from shortlist.runtime.database import database_url
from shortlist.runtime.http import create_app
from shortlist.runtime.service import Service
from shortlist.runtime.topics import CANDIDATES_ERASED, CV_EMBEDDED
from shortlist.score.audit import AuditStore
from shortlist.score.config import Settings
from shortlist.score.erasure import ERASURE_GROUP, ErasureHandler
from shortlist.score.handlers import ScoreHandler
from shortlist.score.scorers import create_scorer

GROUP_ID = "shortlist-score"


def build(settings: Settings) -> tuple[Service, FastAPI]:
    service = Service(settings)
    scorer = create_scorer(settings)
    audit = AuditStore(database_url(settings.database_url, settings.state_path("score.db")))
    service.on_start(audit.start)
    service.on_stop(audit.stop)
    close = getattr(scorer, "close", None)
    if close is not None:
        service.on_stop(close)
    handler = ScoreHandler(scorer, service.producer, audit)
    service.consume(GROUP_ID, {CV_EMBEDDED: handler})
    erasure = ErasureHandler(audit, getattr(scorer, "forget", None))
    service.consume(ERASURE_GROUP, {CANDIDATES_ERASED: erasure.on_candidate_erased})
    app = create_app(settings.service_name, service.readiness)
    return service, app
