"""Token buckets for requests and tokens per minute: in process, or shared by every replica through Redis."""

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from shortlist.score.llm.metrics import LLM_RATE_LIMIT_WAIT


class RateLimiter(Protocol):
    requests_per_minute: float
    tokens_per_minute: float

    async def acquire(self, tokens: int) -> float:
        """Wait until one request of ``tokens`` tokens fits both limits; the seconds waited."""
        ...


class _Bucket:
    def __init__(self, per_minute: float, burst_seconds: float, minimum: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(minimum, self.rate * burst_seconds)
        self.level = self.capacity
        self.stamp: float | None = None

    def refill(self, now: float) -> None:
        if self.stamp is not None:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, cost: float) -> float:
        return 0.0 if self.level >= cost else (cost - self.level) / self.rate


class LocalRateLimiter:
    """One process's limits. Waiters are served in arrival order."""

    def __init__(
        self,
        requests_per_minute: float,
        tokens_per_minute: float,
        burst_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._requests = _Bucket(requests_per_minute, burst_seconds, 1.0)
        self._tokens = _Bucket(tokens_per_minute, burst_seconds, 1.0)
        self._clock = clock
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> float:
        cost = float(min(tokens, self._tokens.capacity))
        started = self._clock()
        async with self._lock:
            while True:
                now = self._clock()
                self._requests.refill(now)
                self._tokens.refill(now)
                wait = max(self._requests.wait(1.0), self._tokens.wait(cost))
                if wait <= 0:
                    self._requests.level -= 1.0
                    self._tokens.level -= cost
                    break
                await asyncio.sleep(wait)
        waited = self._clock() - started
        LLM_RATE_LIMIT_WAIT.observe(waited)
        return waited


# Both buckets refilled and taken atomically, on the Redis server's clock (so replicas' clocks do not matter).
# Returns "0" when taken, else the seconds to wait (nothing taken).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function level(key, rate, cap)
  local v = redis.call('HMGET', key, 'level', 'ts')
  local lvl = tonumber(v[1])
  local ts = tonumber(v[2])
  if lvl == nil or ts == nil then return cap end
  return math.min(cap, lvl + math.max(0, now - ts) * rate)
end
local req_rate, req_cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local tok_rate, tok_cap, cost = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local rl = level(KEYS[1], req_rate, req_cap)
local tl = level(KEYS[2], tok_rate, tok_cap)
local wait = 0
if rl < 1 then wait = (1 - rl) / req_rate end
if tl < cost then wait = math.max(wait, (cost - tl) / tok_rate) end
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], 'level', tostring(rl - 1), 'ts', tostring(now))
redis.call('HSET', KEYS[2], 'level', tostring(tl - cost), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return "0"
"""


class RedisRateLimiter:
    """Limits shared by every process using the same Redis and ``name`` (one provider account and model)."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        requests_per_minute: float,
        tokens_per_minute: float,
        burst_seconds: float = 1.0,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._redis = redis
        self._keys = [f"shortlist:llm:ratelimit:{name}:requests", f"shortlist:llm:ratelimit:{name}:tokens"]
        self._requests = _Bucket(requests_per_minute, burst_seconds, 1.0)
        self._tokens = _Bucket(tokens_per_minute, burst_seconds, 1.0)
        self._script = redis.register_script(_ACQUIRE)

    async def acquire(self, tokens: int) -> float:
        cost = min(tokens, self._tokens.capacity)
        args = [
            self._requests.rate,
            self._requests.capacity,
            self._tokens.rate,
            self._tokens.capacity,
            cost,
            max(60, int(self._tokens.capacity / self._tokens.rate) + 60),
        ]
        started = time.monotonic()
        while True:
            wait = float(await self._script(keys=self._keys, args=args))
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        waited = time.monotonic() - started
        LLM_RATE_LIMIT_WAIT.observe(waited)
        return waited
