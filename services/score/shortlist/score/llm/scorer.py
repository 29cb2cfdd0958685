"""The LLM scorer: each requirement judged on its evidence, quotes checked against the CV, then a summary."""

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import openai

from shortlist.runtime.errors import PermanentError, TransientError
from shortlist.score import safety
from shortlist.score.llm.client import LlmClient, Usage
from shortlist.score.llm.metrics import LLM_GIVE_UPS, LLM_QUOTES_DROPPED
from shortlist.score.llm.prompts import (
    ASSESSMENT_SCHEMA,
    PROMPT_VERSION,
    REASK,
    SUMMARY_SCHEMA,
    assessment_messages,
    summary_messages,
)
from shortlist.score.llm.retries import Budget, LlmUnavailable
from shortlist.score.scorers import base
from shortlist.score.scorers.base import Flag, Quote, RequirementResult, ScoreResult, Thresholds, Verdict
from shortlist.v1 import cv_pb2

T = TypeVar("T")
_MIN_QUOTE = 3


async def _all(coroutines: Sequence[Awaitable[T]]) -> list[T]:
    """Every result, or the first failure with the others cancelled."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` is in ``text``, exactly or up to whitespace."""
    words = quote.split()
    if sum(len(w) for w in words) < _MIN_QUOTE:
        return None
    index = text.find(quote)
    if index >= 0:
        return index, index + len(quote)
    match = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return (match.start(), match.end()) if match else None


class _Cv:
    """One CV being scored: its text, the parts that may not be quoted, the budget and the usage so far."""

    def __init__(self, embedded: cv_pb2.CvEmbedded, screening: safety.Screening, budget: Budget) -> None:
        self.embedded = embedded
        self.text = embedded.redacted_text
        self.screening = screening
        self.blocked = safety.injected_spans(self.text)
        self.budget = budget
        self.usage = Usage()

    def verify(self, quotes: Sequence[str]) -> tuple[list[Quote], list[str]]:
        found: list[Quote] = []
        bad: list[str] = []
        for quote in quotes:
            span = find_quote(self.text, quote)
            if (
                span is None
                or self.screening.tainted(quote)
                or any(s < span[1] and span[0] < e for s, e in self.blocked)
            ):
                bad.append(quote)
            elif all(q.start != span[0] or q.end != span[1] for q in found):
                found.append(Quote(text=self.text[span[0] : span[1]], start=span[0], end=span[1]))
        return found, bad


class LlmScorer:
    name = "llm"
    prompt_version = PROMPT_VERSION

    def __init__(self, llm: LlmClient, defaults: Thresholds, budget_seconds: float, record_attempts: int = 2) -> None:
        self.llm = llm
        self.defaults = defaults
        self.budget_seconds = budget_seconds
        self.record_attempts = record_attempts
        self.closers: list[Callable[[], Awaitable[None]]] = []

    @property
    def model(self) -> str:
        return self.llm.model

    async def forget(self, owners: Sequence[str]) -> int:
        """Deletes the cached answers that carried these candidates' or applications' text."""
        return sum([await self.llm.cache.forget(owner) for owner in owners if owner])

    async def close(self) -> None:
        for close in self.closers:
            await close()

    async def score(self, embedded: cv_pb2.CvEmbedded) -> ScoreResult:
        thresholds = self.defaults.for_job(embedded)
        screening = safety.screen(embedded)
        flags = [
            flag
            for flag, on in (
                (Flag.PROMPT_INJECTION_SUSPECTED, screening.injection),
                (Flag.HIDDEN_TEXT, screening.hidden),
                (Flag.LOW_PARSE_QUALITY, screening.low_parse_quality),
            )
            if on
        ]
        cv = _Cv(embedded, screening, Budget(self.budget_seconds))
        try:
            requirements = await _all([self._assess(cv, e) for e in embedded.evidence])
        except LlmUnavailable as exc:
            LLM_GIVE_UPS.labels(exc.reason).inc()
            raise TransientError(f"llm_{exc.reason}", str(exc), max_attempts=self.record_attempts) from exc
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403, 404):
                raise TransientError(
                    "llm_not_authorized", f"LLM endpoint answered {exc.status_code}", self.record_attempts
                ) from exc
            message = f"LLM endpoint refused the request ({exc.status_code})"
            raise PermanentError("llm_request_rejected", message) from exc
        summary = ""
        if requirements:
            try:
                summary = await self._summarise(cv, requirements)
            except (LlmUnavailable, openai.APIStatusError) as exc:
                LLM_GIVE_UPS.labels(getattr(exc, "reason", "summary")).inc()
                flags.append(Flag.DEGRADED)
        score, recommendation = base.overall(requirements, thresholds, flags)
        inputs = {**base.embedded_inputs(embedded, thresholds), "llm_model": self.model}
        u = cv.usage
        return ScoreResult(
            score=score,
            recommendation=recommendation,
            requirements=tuple(requirements),
            flags=tuple(flags),
            scorer=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            input_hash=base.input_hash(self.name, self.prompt_version, inputs),
            summary=summary,
            usage=base.Usage(
                input_tokens=u.input_tokens,
                output_tokens=u.output_tokens,
                calls=u.calls,
                retries=u.retries,
                latency_seconds=round(u.latency_seconds, 6),
            ),
        )

    async def _ask(self, cv: _Cv, messages: list[dict[str, str]], schema: dict[str, Any]) -> dict[str, Any]:
        owner = cv.embedded.candidate_id or cv.embedded.application_id
        data, usage = await self.llm.complete(messages, schema, cv.budget, owner)
        cv.usage.add(usage)
        return data

    async def _assess(self, cv: _Cv, evidence: cv_pb2.RequirementEvidence) -> RequirementResult:
        requirement = evidence.requirement
        must = base.is_must(requirement)

        def result(score: float, verdict: Verdict, quotes: Sequence[Quote], reason: str) -> RequirementResult:
            return RequirementResult(
                requirement_id=requirement.id,
                text=requirement.text,
                must=must,
                weight=base.requirement_weight(requirement),
                score=float(max(0, min(100, score))),
                verdict=verdict,
                quotes=tuple(quotes),
                reason=reason,
            )

        # Chunks holding injected or hidden text are never shown to the model, so they cannot raise the score.
        chunks = [c.text for c in evidence.chunks if c.text.strip() and not cv.screening.tainted(c.text)]
        if not chunks:
            return result(0, Verdict.MISSING, (), "No evidence for this requirement was found in the CV.")
        messages = assessment_messages(cv.embedded.job_title, requirement.text, must, chunks)
        data = await self._ask(cv, messages, ASSESSMENT_SCHEMA)
        quotes, bad = cv.verify(data["quotes"])
        if bad:
            LLM_QUOTES_DROPPED.labels(self.model).inc(len(bad))
            reask = [
                *messages,
                {"role": "assistant", "content": json.dumps(data, ensure_ascii=False)},
                {"role": "user", "content": REASK.format(quotes=json.dumps(bad, ensure_ascii=False))},
            ]
            data = await self._ask(cv, reask, ASSESSMENT_SCHEMA)
            quotes, bad = cv.verify(data["quotes"])
            if bad:
                LLM_QUOTES_DROPPED.labels(self.model).inc(len(bad))
        verdict = Verdict(data["verdict"])
        reason = " ".join(str(data["reason"]).split())[:300]
        if verdict == Verdict.MISSING:
            return result(data["score"], verdict, (), reason)
        if not quotes:
            return result(0, Verdict.UNVERIFIABLE, (), "The assessment's evidence could not be found in the CV.")
        return result(data["score"], verdict, quotes, reason)

    async def _summarise(self, cv: _Cv, requirements: Sequence[RequirementResult]) -> str:
        assessments = [
            {
                "requirement": r.text,
                "kind": "must" if r.must else "nice",
                "verdict": str(r.verdict),
                "score": r.score,
                "reason": r.reason,
            }
            for r in requirements
        ]
        data = await self._ask(cv, summary_messages(cv.embedded.job_title, assessments), SUMMARY_SCHEMA)
        return " ".join(str(data["summary"]).split())[:600]
