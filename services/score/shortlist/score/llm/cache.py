"""Response cache keyed by model, prompt version and the hash of a call's input: in process, or in Redis.

Each entry also names its owners (the candidates whose CV text the call carried), so an erasure can delete the
answers, which quote the CV, before they expire.
"""

import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline


class ResponseCache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, owner: str = "") -> None: ...

    async def claim(self, key: str, owner: str) -> None:
        """Records that ``owner``'s text was in the call of an entry already stored; its expiry is unchanged."""
        ...

    async def forget(self, owner: str) -> int:
        """Deletes every entry ``owner`` stored or read; returns how many were deleted."""
        ...


class LocalCache:
    """Least recently used entries go first once ``size`` is reached."""

    def __init__(self, size: int, ttl_seconds: int) -> None:
        self._size = size
        self._ttl = ttl_seconds
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._owners: dict[str, set[str]] = {}
        self._keys: dict[str, set[str]] = {}

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def set(self, key: str, value: str, owner: str = "") -> None:
        if self._size <= 0:
            return
        self._entries[key] = (time.monotonic() + self._ttl, value)
        self._entries.move_to_end(key)
        if owner:
            await self.claim(key, owner)
        while len(self._entries) > self._size:
            self._drop(next(iter(self._entries)))

    async def claim(self, key: str, owner: str) -> None:
        if key in self._entries:
            self._owners.setdefault(key, set()).add(owner)
            self._keys.setdefault(owner, set()).add(key)

    async def forget(self, owner: str) -> int:
        keys = list(self._keys.get(owner, ()))
        for key in keys:
            self._drop(key)
        return len(keys)

    def _drop(self, key: str) -> None:
        self._entries.pop(key, None)
        for owner in self._owners.pop(key, ()):
            keys = self._keys.get(owner)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._keys[owner]


class RedisCache:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(_entry(key))
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    async def set(self, key: str, value: str, owner: str = "") -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(_entry(key), value, ex=self._ttl)
            if owner:
                self._own(pipe, key, owner)
            await pipe.execute()

    async def claim(self, key: str, owner: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self._own(pipe, key, owner)
            await pipe.execute()

    def _own(self, pipe: Pipeline, key: str, owner: str) -> None:
        pipe.sadd(_owned(owner), key)
        pipe.expire(_owned(owner), self._ttl)

    async def forget(self, owner: str) -> int:
        keys = await self._redis.smembers(_owned(owner))
        names = [_entry(k.decode("utf-8") if isinstance(k, bytes) else str(k)) for k in keys]
        deleted = int(await self._redis.delete(*names)) if names else 0
        await self._redis.delete(_owned(owner))
        return deleted


def _entry(key: str) -> str:
    return f"shortlist:llm:cache:{key}"


def _owned(owner: str) -> str:
    return f"shortlist:llm:cache-owner:{owner}"
