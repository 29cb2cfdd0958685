"""One webhook delivery: signed POSTs, retried with exponential backoff while the failure may pass."""

import asyncio
import random
import time
from dataclasses import dataclass

import httpx

from shortlist.notify.signing import signature_headers

DELIVERED = "delivered"
GAVE_UP = "gave_up"
RETRYABLE_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    backoff_initial_seconds: float
    backoff_max_seconds: float

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        ceiling = min(self.backoff_max_seconds, self.backoff_initial_seconds * 2 ** (attempt - 1))
        if retry_after is not None:
            return min(self.backoff_max_seconds, max(retry_after, ceiling / 2))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Result:
    outcome: str
    attempts: int
    status_code: int | None
    error: str | None
    duration_seconds: float


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


async def deliver(
    client: httpx.AsyncClient, url: str, secret: str, message_id: str, body: bytes, policy: Policy
) -> Result:
    """POST ``body`` until a 2xx answer, a failure that will not pass, or the attempts run out.

    Errors are recorded as codes (``http_503``, ``timeout``, ``connection_error``), never as exception
    texts, which can carry the URL.
    """
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    attempt = 0
    while attempt < policy.max_attempts:
        attempt += 1
        retry_after: float | None = None
        headers = {"content-type": "application/json", **signature_headers(secret, message_id, body)}
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            status, error, retryable = None, "timeout", True
        except httpx.TransportError:
            status, error, retryable = None, "connection_error", True
        else:
            status = response.status_code
            if 200 <= status < 300:
                return Result(DELIVERED, attempt, status, None, time.perf_counter() - started)
            error = f"http_{status}"
            retryable = status >= 500 or status in RETRYABLE_STATUS
            retry_after = _retry_after(response)
        if not retryable or attempt >= policy.max_attempts:
            break
        await asyncio.sleep(policy.backoff(attempt, retry_after))
    return Result(GAVE_UP, attempt, status, error, time.perf_counter() - started)
