"""Per-endpoint isolation: a bounded number of requests in flight and a circuit breaker.

closed → (``threshold`` failures in a row) → open → (cool-down) → half-open: one probe →
closed on success, open again on failure.
"""

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from prometheus_client import Gauge

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
_STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}

BREAKER_STATE = Gauge(
    "shortlist_webhook_breaker_state",
    "Circuit breaker per webhook endpoint: 0 closed, 1 half-open, 2 open",
    ["endpoint"],
)
IN_FLIGHT = Gauge("shortlist_webhook_in_flight", "Webhook requests in flight per endpoint", ["endpoint"])


def endpoint_key(url: str) -> str:
    """An endpoint is a scheme, host and port: subscriptions on one server share its limits."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _label(key: str) -> str:
    return key.split("://", 1)[-1]


@dataclass
class Endpoint:
    key: str
    concurrency: int
    threshold: int
    cooldown_seconds: float
    in_flight: int = 0
    failures: int = 0
    state: str = CLOSED
    open_until: float = 0.0
    opened_at: float | None = field(default=None)

    def free(self, now: float | None = None) -> int:
        """Requests this endpoint may take now."""
        now = time.monotonic() if now is None else now
        if self.state == OPEN and now >= self.open_until:
            self._set(HALF_OPEN)
        if self.state == OPEN:
            return 0
        if self.state == HALF_OPEN:
            return 0 if self.in_flight else 1
        return self.concurrency - self.in_flight

    def begin(self) -> None:
        self.in_flight += 1
        IN_FLIGHT.labels(_label(self.key)).set(self.in_flight)

    def end(self, success: bool, counts: bool = True) -> None:
        """A request ended; ``counts`` is False for answers that say nothing about the endpoint's health."""
        self.in_flight -= 1
        IN_FLIGHT.labels(_label(self.key)).set(self.in_flight)
        if not counts:
            if self.state == HALF_OPEN:
                self.failures = 0
                self._set(CLOSED)
            return
        if success:
            self.failures = 0
            self._set(CLOSED)
            return
        self.failures += 1
        if self.state == HALF_OPEN or self.failures >= self.threshold:
            self.open_until = time.monotonic() + self.cooldown_seconds
            self._set(OPEN)

    def seconds_until_probe(self) -> float | None:
        return max(0.0, self.open_until - time.monotonic()) if self.state == OPEN else None

    def _set(self, state: str) -> None:
        self.state = state
        BREAKER_STATE.labels(_label(self.key)).set(_STATE_VALUE[state])


class Endpoints:
    def __init__(self, concurrency: int, threshold: int, cooldown_seconds: float) -> None:
        self._settings = (concurrency, threshold, cooldown_seconds)
        self._by_key: dict[str, Endpoint] = {}

    def get(self, url: str) -> Endpoint:
        key = endpoint_key(url)
        found = self._by_key.get(key)
        if found is None:
            found = self._by_key[key] = Endpoint(key, *self._settings)
            found.free()
            BREAKER_STATE.labels(_label(key)).set(0)
        return found

    def all(self) -> list[Endpoint]:
        return list(self._by_key.values())
