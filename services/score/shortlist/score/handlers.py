"""cv.embedded.v1 -> score -> cv.scored.v1."""

import logging
import time
import uuid
from datetime import UTC, datetime

from shortlist.runtime import metrics as runtime_metrics
from shortlist.runtime.errors import PermanentError
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.records import Record
from shortlist.score import metrics
from shortlist.score.audit import AuditStore, Recorded
from shortlist.score.scorers.base import Scorer, to_cv_scored
from shortlist.v1 import cv_pb2

log = logging.getLogger(__name__)

#: CvScored ids derive from the CvEmbedded id, so a redelivered record publishes the same event id.
_EVENT_NAMESPACE = uuid.UUID("5b0f3f8e-3c1d-4a57-9a44-6c3d2f1e8b10")


def scored_event_id(embedded_event_id: str) -> str:
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"cv.scored:{embedded_event_id}"))


class ScoreHandler:
    def __init__(self, scorer: Scorer, producer: EventProducer, audit: AuditStore | None = None) -> None:
        self.scorer = scorer
        self.producer = producer
        self.audit = audit

    async def __call__(self, record: Record) -> None:
        embedded = record.message
        if not isinstance(embedded, cv_pb2.CvEmbedded):
            raise PermanentError("unexpected_event", f"expected CvEmbedded, got {type(embedded).__name__}")
        if not embedded.application_id or not embedded.job_id:
            raise PermanentError("invalid_event", "CvEmbedded without application_id or job_id")
        if self.audit is not None and await self.audit.is_erased(embedded.application_id):
            self._skip_erased(embedded.application_id)
            return
        started = time.perf_counter()
        result = await self.scorer.score(embedded)
        metrics.SCORING_SECONDS.labels(self.scorer.name).observe(time.perf_counter() - started)
        scored_at = datetime.now(UTC)
        event = to_cv_scored(embedded, result, scored_at)
        event_id = scored_event_id(record.envelope.id)
        if self.audit is not None:
            recorded = await self.audit.record(event_id, record.envelope.id, embedded, result, scored_at)
            if recorded is Recorded.ERASED:  # erased while it was being scored
                self._skip_erased(embedded.application_id)
                return
        await self.producer.publish(event, key=embedded.application_id, event_id=event_id)
        metrics.SCORES.labels(result.scorer, str(result.recommendation)).inc()
        metrics.SCORE_VALUES.labels(result.scorer).observe(result.score)
        metrics.JOB_SCORES.labels(embedded.job_id).observe(result.score)
        for flag in result.flags:
            metrics.SCORE_FLAGS.labels(str(flag)).inc()
        if embedded.HasField("submitted_at"):
            submitted = embedded.submitted_at.ToDatetime(tzinfo=UTC)
            runtime_metrics.END_TO_END_SECONDS.labels("scored").observe(
                max(0.0, (scored_at - submitted).total_seconds())
            )
        log.info(
            "scored application %s: %.1f %s flags=%s",
            embedded.application_id,
            result.score,
            result.recommendation,
            ",".join(result.flags) or "-",
        )

    @staticmethod
    def _skip_erased(application_id: str) -> None:
        metrics.SCORES_SKIPPED.labels("erased").inc()
        log.info("application %s not scored: its candidate was erased", application_id)
