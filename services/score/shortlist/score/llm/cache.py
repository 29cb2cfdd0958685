"""Response cache keyed by model, prompt version and the hash of a call's input: in process, or in Redis."""

import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis


class ResponseCache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


class LocalCache:
    """Least recently used entries go first once ``size`` is reached."""

    def __init__(self, size: int, ttl_seconds: int) -> None:
        self._size = size
        self._ttl = ttl_seconds
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def set(self, key: str, value: str) -> None:
        if self._size <= 0:
            return
        self._entries[key] = (time.monotonic() + self._ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class RedisCache:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(f"shortlist:llm:cache:{key}")
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    async def set(self, key: str, value: str) -> None:
        await self._redis.set(f"shortlist:llm:cache:{key}", value, ex=self._ttl)
