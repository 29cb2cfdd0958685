"""The score service: consumes cv.embedded.v1, publishes cv.scored.v1, serves the ops endpoints."""

from fastapi import FastAPI

from shortlist.runtime.http import create_app
from shortlist.runtime.service import Service
from shortlist.runtime.topics import CV_EMBEDDED
from shortlist.score.config import Settings
from shortlist.score.handlers import ScoreHandler
from shortlist.score.scorers import create_scorer

GROUP_ID = "shortlist-score"


def build(settings: Settings) -> tuple[Service, FastAPI]:
    service = Service(settings)
    scorer = create_scorer(settings)
    service.consume(GROUP_ID, {CV_EMBEDDED: ScoreHandler(scorer, service.producer)})
    app = create_app(settings.service_name, service.readiness)
    return service, app
