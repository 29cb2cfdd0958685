"""The scorers behind one interface, chosen by ``SHORTLIST_SCORER``."""

from shortlist.score.config import Settings
from shortlist.score.scorers.base import Scorer, Thresholds
from shortlist.score.scorers.rubric import RubricScorer


def create_scorer(settings: Settings) -> Scorer:
    defaults = Thresholds(advance=settings.score_advance_threshold, reject=settings.score_reject_threshold)
    if settings.scorer == "rubric":
        return RubricScorer(defaults)
    if settings.scorer == "llm":
        from shortlist.score.llm.factory import create_llm_scorer

        return create_llm_scorer(settings, defaults)
    raise ValueError(f"unknown scorer {settings.scorer!r}")
