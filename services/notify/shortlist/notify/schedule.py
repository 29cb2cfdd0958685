"""When a failed delivery is tried again: a configured schedule with jitter, never earlier than Retry-After."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Schedule:
    delays: tuple[float, ...]
    """Seconds before the 2nd, 3rd, … attempt; the delivery fails after ``len(delays) + 1`` attempts."""
    jitter: float = 0.2
    retry_after_max_seconds: float = 28_800.0

    @classmethod
    def parse(cls, text: str, jitter: float, retry_after_max_seconds: float) -> "Schedule":
        delays = tuple(float(part) for part in text.split(",") if part.strip())
        if any(d < 0 for d in delays):
            raise ValueError("retry delays are seconds, zero or more")
        return cls(delays, jitter, retry_after_max_seconds)

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay(self, tries: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after the ``tries``-th failed attempt, or None when it was the last."""
        if tries > len(self.delays):
            return None
        base = self.delays[tries - 1]
        delay = base * random.uniform(1 - self.jitter, 1 + self.jitter)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_max_seconds))
        return delay


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
