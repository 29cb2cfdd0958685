"""One structured-output chat call: concurrency limit, rate limiter, cache, retries within a deadline, usage."""

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai
from opentelemetry import trace
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from shortlist.score.llm.cache import ResponseCache
from shortlist.score.llm.completion import InvalidOutput, conforms, parse_completion
from shortlist.score.llm.metrics import LLM_CACHE, LLM_CALLS, LLM_LATENCY, LLM_RETRIES, LLM_TOKENS
from shortlist.score.llm.ratelimit import RateLimiter
from shortlist.score.llm.retries import Budget, LlmUnavailable, RetryPolicy, StopAtDeadline, retry_after, retry_reason

tracer = trace.get_tracer("shortlist.score.llm")


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    retries: int = 0
    latency_seconds: float = 0.0

    def add(self, other: "Usage") -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.calls += other.calls
        self.retries += other.retries
        self.latency_seconds += other.latency_seconds


class LlmClient:
    def __init__(
        self,
        clients: Sequence[openai.AsyncOpenAI],
        model: str,
        prompt_version: str,
        limiter: RateLimiter,
        cache: ResponseCache,
        max_concurrency: int,
        max_output_tokens: int,
        policy: RetryPolicy,
    ) -> None:
        self.clients = list(clients)
        self._turn = 0
        self.model = model
        self.prompt_version = prompt_version
        self.limiter = limiter
        self.cache = cache
        self.policy = policy
        self.max_output_tokens = max_output_tokens
        self._semaphore = asyncio.Semaphore(max_concurrency)

    def cache_key(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        payload = json.dumps([self.model, self.prompt_version, schema["name"], messages], sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    async def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any], budget: Budget, owner: str = ""
    ) -> tuple[dict[str, Any], Usage]:
        """The model's JSON answer, from the cache when this exact call was answered before.

        ``owner`` (the candidate whose text the messages carry) is recorded with the cached answer, so erasing
        the candidate deletes it.
        """
        key = self.cache_key(messages, schema)
        cached = await self.cache.get(key)
        if cached is not None:
            LLM_CACHE.labels("hit").inc()
            if owner:
                await self.cache.claim(key, owner)
            return json.loads(cached), Usage()
        LLM_CACHE.labels("miss").inc()
        usage = Usage()

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            LLM_RETRIES.labels(self.model, (exc and retry_reason(exc)) or "unknown").inc()
            usage.retries += 1

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: retry_reason(e) is not None),
            wait=self._wait,
            stop=stop_after_attempt(self.policy.max_attempts) | StopAtDeadline(budget),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    content = await self._call(messages, schema, budget, usage)
        except Exception as exc:
            reason = retry_reason(exc)
            if reason is None:
                raise
            raise LlmUnavailable(reason, f"LLM call failed after {usage.calls} tries: {reason}") from exc
        await self.cache.set(key, content, owner)
        return json.loads(content), usage

    def _wait(self, state: RetryCallState) -> float:
        ceiling = min(self.policy.max_seconds, self.policy.initial_seconds * 2 ** (state.attempt_number - 1))
        backoff = ceiling / 2 + random.uniform(0, ceiling / 2)
        asked = retry_after(state.outcome.exception() if state.outcome else None)
        return max(backoff, asked) if asked is not None else backoff

    async def _call(self, messages: list[dict[str, str]], schema: dict[str, Any], budget: Budget, usage: Usage) -> str:
        estimate = sum(len(m["content"]) for m in messages) // 3 + self.max_output_tokens
        queued = time.monotonic()
        async with self._semaphore:
            await self.limiter.acquire(estimate)
            budget.deadline += time.monotonic() - queued
            timeout = min(self.policy.timeout_seconds, max(0.1, budget.remaining()))
            with tracer.start_as_current_span(f"chat {self.model}", kind=trace.SpanKind.CLIENT) as span:
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.system", "openai")
                span.set_attribute("gen_ai.request.model", self.model)
                span.set_attribute("gen_ai.request.temperature", 0.0)
                span.set_attribute("gen_ai.request.max_tokens", self.max_output_tokens)
                started = time.perf_counter()
                usage.calls += 1
                try:
                    self._turn = (self._turn + 1) % len(self.clients)
                    # The plain request body, posted as is, and the plain response body back: the SDK's typed
                    # conversions both ways cost more CPU than the rest of the call, which matters at hundreds of
                    # calls per second.
                    body = await self.clients[self._turn].post(
                        "/chat/completions",
                        cast_to=bytes,
                        body={
                            "model": self.model,
                            "messages": messages,
                            "temperature": 0,
                            "max_tokens": self.max_output_tokens,
                            "response_format": {"type": "json_schema", "json_schema": schema},
                        },
                        options={"timeout": timeout},
                    )
                except Exception as exc:
                    elapsed = time.perf_counter() - started
                    usage.latency_seconds += elapsed
                    LLM_LATENCY.labels(self.model).observe(elapsed)
                    outcome = retry_reason(exc) or "error"
                    LLM_CALLS.labels(self.model, outcome).inc()
                    span.set_attribute("error.type", outcome)
                    raise
                elapsed = time.perf_counter() - started
                usage.latency_seconds += elapsed
                LLM_LATENCY.labels(self.model).observe(elapsed)
                try:
                    response = parse_completion(body)
                except InvalidOutput as exc:
                    LLM_CALLS.labels(self.model, exc.reason).inc()
                    span.set_attribute("error.type", exc.reason)
                    raise
                usage.input_tokens += response.input_tokens
                usage.output_tokens += response.output_tokens
                LLM_TOKENS.labels(self.model, "input").inc(response.input_tokens)
                LLM_TOKENS.labels(self.model, "output").inc(response.output_tokens)
                span.set_attribute("gen_ai.response.model", response.model or self.model)
                span.set_attribute("gen_ai.usage.input_tokens", response.input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", response.output_tokens)
                content = response.content
                if response.finish_reason:
                    span.set_attribute("gen_ai.response.finish_reasons", [response.finish_reason])
                try:
                    data = json.loads(content)
                except ValueError:
                    reason = "truncated_json" if response.finish_reason == "length" else "invalid_json"
                    LLM_CALLS.labels(self.model, reason).inc()
                    span.set_attribute("error.type", reason)
                    raise InvalidOutput(reason) from None
                if not conforms(data, schema["schema"]):
                    LLM_CALLS.labels(self.model, "schema_mismatch").inc()
                    span.set_attribute("error.type", "schema_mismatch")
                    raise InvalidOutput("schema_mismatch")
                LLM_CALLS.labels(self.model, "ok").inc()
                return content
