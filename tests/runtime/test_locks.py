"""Keyed locks: one key serialises, different keys never wait on each other, idle keys are dropped."""

import asyncio
import uuid

from shortlist.runtime.locks import KeyedLocks


async def test_holding_one_key_never_blocks_another() -> None:
    locks = KeyedLocks()

    async def nested(outer: str, inner: str) -> None:
        async with locks.hold(outer), locks.hold(inner):
            await asyncio.sleep(0)

    pairs = [(f"content/{uuid.uuid4()}", f"application/{uuid.uuid4()}") for _ in range(500)]
    # A guard against a hang, not a speed check: 500 nested pairs deadlocked on hashed stripes.
    await asyncio.wait_for(asyncio.gather(*(nested(a, b) for a, b in pairs)), timeout=30)
    assert len(locks) == 0


async def test_one_key_is_held_by_one_task_at_a_time() -> None:
    locks = KeyedLocks()
    inside: list[int] = []
    overlaps = 0

    async def work(n: int) -> None:
        nonlocal overlaps
        async with locks.hold("job/1"):
            overlaps += bool(inside)
            inside.append(n)
            await asyncio.sleep(0.001)
            inside.remove(n)

    await asyncio.gather(*(work(n) for n in range(20)))
    assert overlaps == 0
    assert len(locks) == 0


async def test_a_failing_holder_releases_its_key() -> None:
    locks = KeyedLocks()
    try:
        async with locks.hold("k"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with locks.hold("k"):
        assert len(locks) == 1
    assert len(locks) == 0
