"""When a failed LLM call is tried again, how long the provider asked to wait, and the time budget of one CV."""

import email.utils
import time
from dataclasses import dataclass

import openai
from tenacity import RetryCallState
from tenacity.stop import stop_base

from shortlist.score.llm.completion import InvalidOutput


class LlmUnavailable(Exception):
    """Retries ran out (attempts or the CV's time budget) on a failure that may pass later."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


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


class StopAtDeadline(stop_base):
    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self.budget.remaining()
