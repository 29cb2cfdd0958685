"""One structured-output chat call: concurrency limit, rate limiter, cache, retries within a deadline, usage."""

import asyncio
import email.utils
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
from tenacity.stop import stop_base

from shortlist.score.llm.cache import ResponseCache
from shortlist.score.llm.completion import InvalidOutput, parse_completion
from shortlist.score.llm.metrics import LLM_CACHE, LLM_CALLS, LLM_LATENCY, LLM_RETRIES, LLM_TOKENS
from shortlist.score.llm.ratelimit import RateLimiter

tracer = trace.get_tracer("shortlist.score.llm")


class LlmUnavailable(Exception):
    """Retries ran out (attempts or the CV's time budget) on a failure that may pass later."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


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


@dataclass(frozen=True)
class RetryPolicy:
    timeout_seconds: float = 30.0
    max_attempts: int = 8
    initial_seconds: float = 0.5
    max_seconds: float = 20.0


def retry_reason(exc: BaseException) -> str | None:
    """Why a failed call is worth another try; None when it is not."""
    if isinstance(exc, InvalidOutput):
        return exc.reason
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APIStatusError) and (exc.status_code >= 500 or exc.status_code == 408):
        return "server_error"
    return None


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the provider asked to wait (``retry-after-ms`` or ``retry-after``: seconds or an HTTP date)."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Budget:
    """The time one CV's calls and retries may take. Time spent waiting for this process's own concurrency
    limit and rate limiter does not count: a backlog is not a failing provider."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class _StopAtDeadline(stop_base):
    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self.budget.remaining()


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """Enough of JSON Schema for the chain's own schemas."""
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return False
    if kind == "object":
        if not isinstance(value, dict) or any(k not in value for k in schema.get("required", [])):
            return False
        return all(conforms(value[k], s) for k, s in schema.get("properties", {}).items() if k in value)
    if kind == "array":
        if not isinstance(value, list) or len(value) > schema.get("maxItems", len(value)):
            return False
        return all(conforms(v, schema.get("items", {})) for v in value)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer" or kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if kind == "integer" and not float(value).is_integer():
            return False
        return bool(schema.get("minimum", value) <= value <= schema.get("maximum", value))
    return True


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
                await self.cache.set(key, cached, owner)
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
            stop=stop_after_attempt(self.policy.max_attempts) | _StopAtDeadline(budget),
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
