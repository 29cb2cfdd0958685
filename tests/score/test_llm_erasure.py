"""Erasing a candidate deletes the LLM answers cached for their CV, in process and in Redis, and nobody else's."""

import uuid
from pathlib import Path

from redis.asyncio import Redis

from shortlist.runtime.database import database_url
from shortlist.runtime.events import encode_headers, header_map, new_envelope
from shortlist.runtime.records import Record
from shortlist.runtime.topics import CANDIDATES_ERASED
from shortlist.score.audit import AuditStore
from shortlist.score.erasure import ErasureHandler
from shortlist.score.llm.cache import LocalCache, RedisCache
from shortlist.v1 import cv_pb2
from tests.score.factory import STRONG_CV, WEAK_CV, make_embedded
from tests.score.fake_llm import FakeLlm
from tests.score.test_llm_scorer import REDIS_URL, close_scorers, fake, fresh, redis, scorer_for  # noqa: F401 (fixtures)


def erased(candidate_id: str, *application_ids: str) -> Record:
    message = cv_pb2.CandidateErased(candidate_id=candidate_id, application_ids=list(application_ids))
    message.erased_at.GetCurrentTime()
    envelope = new_envelope(message, source="/tests")
    return Record(CANDIDATES_ERASED, 0, 0, candidate_id, header_map(encode_headers(envelope)), envelope, message)


async def test_an_erased_candidate_is_asked_about_afresh_and_the_others_stay_cached(
    fake: FakeLlm,  # noqa: F811
    tmp_path: Path,
) -> None:
    await erase_and_score_again(fake, tmp_path)


async def test_erasure_deletes_the_answers_that_replicas_share_in_redis(
    fake: FakeLlm,  # noqa: F811
    tmp_path: Path,
    redis: Redis,  # noqa: F811
) -> None:
    await erase_and_score_again(fake, tmp_path, redis_url=REDIS_URL, llm_model=f"fake-{uuid.uuid4().hex[:8]}")


async def erase_and_score_again(server: FakeLlm, tmp_path: Path, **overrides: str) -> None:
    server.faults = ()
    scorer = scorer_for(server, tmp_path, **overrides)
    audit = AuditStore(database_url(None, tmp_path / "score.db"))
    await audit.start()
    try:
        alice = make_embedded(STRONG_CV, application_id=f"app-{uuid.uuid4().hex[:8]}")
        bob = make_embedded(WEAK_CV, application_id=f"app-{uuid.uuid4().hex[:8]}")
        await scorer.score(alice)
        await scorer.score(bob)
        before = server.calls
        assert (await scorer.score(alice)).usage.calls == 0, "a second scoring is answered from the cache"

        await ErasureHandler(audit, scorer.forget).on_candidate_erased(erased(alice.candidate_id, alice.application_id))

        assert (await scorer.score(bob)).usage.calls == 0
        assert server.calls == before
        again = await scorer.score(alice)
        assert again.usage.calls == 5 and server.calls == before + 5
    finally:
        await scorer.close()
        await audit.stop()


async def test_the_local_cache_forgets_only_what_the_owner_stored_or_read() -> None:
    cache = LocalCache(size=3, ttl_seconds=60)
    await cache.set("a", "1", "alice")
    await cache.set("shared", "2", "alice")
    await cache.set("shared", "2", "bob")
    await cache.set("b", "3", "bob")
    await cache.set("c", "4", "carol")  # evicts "a", the least recently used

    assert await cache.forget("alice") == 1
    assert [await cache.get(k) for k in ("a", "shared", "b", "c")] == [None, None, "3", "4"]
    assert await cache.forget("alice") == 0
    assert await cache.forget("bob") == 1 and await cache.get("c") == "4"

    # A hit names its reader too (the same text in another candidate's CV); a gone entry is not claimed.
    await cache.claim("c", "dave")
    await cache.claim("a", "dave")
    assert await cache.forget("dave") == 1 and await cache.get("c") is None


async def test_the_redis_cache_forgets_an_owner_and_keeps_the_others(redis: Redis) -> None:  # noqa: F811
    cache = RedisCache(redis, ttl_seconds=60)
    alice, bob = f"alice-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"
    await cache.set(f"{alice}-1", "x", alice)
    await cache.set(f"{alice}-2", "y", alice)
    await cache.set(f"{bob}-1", "z", bob)

    assert await cache.forget(alice) == 2
    assert await cache.get(f"{alice}-1") is None and await cache.get(f"{alice}-2") is None
    assert await cache.get(f"{bob}-1") == "z"
    assert await cache.forget(alice) == 0

    await cache.claim(f"{bob}-1", alice)
    assert await cache.forget(alice) == 1 and await cache.get(f"{bob}-1") is None
