"""Scores to three subscriptions on a receiver that fails half its requests in mixed ways, and a fourth, dead
endpoint: every (subscription, score) is accepted exactly once with a signature the ``standardwebhooks``
reference package verifies, and the dead endpoint (its breaker open, its slots bounded) holds no one up."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from shortlist.notify.config import Settings
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from tests.notify.chaos import dead_endpoint, receiver_process, register_secrets, stats, wait_accepted
from tests.notify.conftest import notify_api
from tests.notify.test_service import scored, subscribe

SCORES = 60
CONCURRENCY = 8
THRESHOLD = 8
pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def api(kafka_settings: KafkaSettings, topics_ready: None, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        **{**kafka_settings.model_dump(), "state_dir": tmp_path / "state"},
        webhook_allowed_hosts="127.0.0.1",
        api_keys="test-key",
        webhook_timeout_seconds=0.5,
        # 15 attempts: a delivery failing every one of them on a 50 % receiver is a 1-in-32768 event.
        webhook_retry_schedule="0.05,0.1,0.2,0.4,0.8,1,1,1,1,1,1,1,1,1",
        webhook_endpoint_concurrency=CONCURRENCY,
        webhook_breaker_failures=THRESHOLD,  # the flaky receiver trips it now and then too
        webhook_breaker_cooldown_seconds=1.0,
        webhook_poll_max_seconds=1.0,
    )
    async with notify_api(settings) as client:
        yield client


async def test_every_pair_is_accepted_once_signed_and_a_dead_endpoint_holds_no_one_up(
    api: httpx.AsyncClient, producer: EventProducer, unique: str
) -> None:
    job_id = f"job-{unique}"
    with receiver_process(fail_ratio=0.5) as base, dead_endpoint() as dead_base:
        paths = [f"/chaos-{n}" for n in range(3)]
        subscriptions = [await subscribe(api, f"{base}{p}", job_id=job_id) for p in paths]
        await register_secrets(base, {p: s["secret"] for p, s in zip(paths, subscriptions, strict=True)})
        dead = await subscribe(api, f"{dead_base}/hook", job_id=job_id)

        events = [scored(job_id) for _ in range(SCORES)]
        envelopes = await asyncio.gather(*(producer.publish(e, key=e.application_id) for e in events))
        published = {e.id for e in envelopes}

        widest = 0
        deadline = asyncio.get_running_loop().time() + 180
        while asyncio.get_running_loop().time() < deadline:
            state = (await api.get(f"/v1/subscriptions/{dead['id']}")).json()["breaker"]
            widest = max(widest, state["in_flight"])
            found = await stats(base)
            if all(len(found.get(p, {}).get("accepted", {})) >= SCORES for p in paths):
                break
            await asyncio.sleep(0.1)
        found = await wait_accepted(base, paths, SCORES, within=1)

        for path in paths:
            counts = found[path]
            assert counts["bad_signatures"] == 0
            assert counts["injected"] > 0  # the receiver did fail requests
            accepted = counts["accepted"]
            assert len(accepted) == SCORES, f"{path}: {len(accepted)} of {SCORES} accepted"
            assert set(accepted) == published  # webhook-id is the score's ce_id
            assert {event_id for _, event_id in accepted.values()} == published
            assert counts["duplicates"] == 0

        # The dead endpoint: never more than its slots in flight, its breaker open (or probing), nothing of it
        # finished, while the healthy subscriptions got every score.
        dead_state = (await api.get(f"/v1/subscriptions/{dead['id']}")).json()
        assert widest <= CONCURRENCY
        assert dead_state["breaker"]["state"] in ("open", "half_open")
        assert dead_state["breaker"]["consecutive_failures"] >= THRESHOLD
        dead_log = (await api.get("/v1/deliveries", params={"subscription_id": dead["id"], "limit": 1000})).json()
        assert len(dead_log["items"]) == SCORES
        assert {d["state"] for d in dead_log["items"]} == {"pending"}
        endpoint = dead_base.removeprefix("http://")
        assert REGISTRY.get_sample_value("shortlist_webhook_breaker_state", {"endpoint": endpoint}) in (1.0, 2.0)
        assert (await api.delete(f"/v1/subscriptions/{dead['id']}")).status_code == 204
