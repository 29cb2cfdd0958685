"""The notify service in process: a real broker, real SQLite and a real HTTP receiver that checks signatures."""

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from shortlist.notify.app import build
from shortlist.notify.config import Settings
from shortlist.notify.signing import verify
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.v1 import common_pb2, score_pb2
from tests.notify.conftest import Receiver, delivery_events


@pytest.fixture(scope="module")
async def api(
    kafka_settings: KafkaSettings, topics_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        **{**kafka_settings.model_dump(), "state_dir": tmp_path_factory.mktemp("notify") / "state"},
        webhook_allowed_hosts="127.0.0.1",
        api_keys="test-key",
        webhook_retry_schedule="0.05,0.1",
        webhook_breaker_failures=1000,
    )
    service, app = build(settings)
    async with service.running():
        assert await asyncio.to_thread(Path(settings.state_dir, "notify.db").exists)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://notify",
            headers={"Authorization": "Bearer test-key"},
        ) as client:
            yield client


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scored(job_id: str, score: float = 82.5) -> score_pb2.CvScored:
    submitted_at = Timestamp()
    submitted_at.GetCurrentTime()
    requirement = common_pb2.Requirement(
        id=f"{job_id}-r1", text="Python", kind=common_pb2.REQUIREMENT_KIND_MUST, weight=1.0
    )
    return score_pb2.CvScored(
        application_id=str(uuid.uuid4()),
        job_id=job_id,
        job_version=1,
        score=score,
        recommendation=score_pb2.RECOMMENDATION_ADVANCE,
        flags=["hidden_text"],
        requirements=[
            score_pb2.RequirementScore(
                requirement=requirement,
                score=90.0,
                verdict=score_pb2.VERDICT_MET,
                quotes=[score_pb2.Quote(text="5 years of Python")],
                reason="stated",
            )
        ],
        scorer="rubric",
        submitted_at=submitted_at,
    )


async def subscribe(api: httpx.AsyncClient, url: str, **filters: object) -> dict[str, str]:
    response = await api.post("/v1/subscriptions", json={"url": url, **filters})
    assert response.status_code == 201, response.text
    return response.json()


async def test_private_targets_and_bad_secrets_are_refused(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/subscriptions", json={"url": "http://10.0.0.7/hook"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "target_not_allowed"
    response = await api.post("/v1/subscriptions", json={"url": "ftp://127.0.0.1/hook"})
    assert response.json()["error"]["code"] == "target_not_allowed"
    response = await api.post("/v1/subscriptions", json={"url": "http://127.0.0.1/hook", "secret": "hunter2"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_secret"
    assert "hunter2" not in response.text


async def test_a_score_is_delivered_once_signed_even_when_replayed(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, kafka_settings: KafkaSettings, unique: str
) -> None:
    job_id = f"job-{unique}"
    subscription = await subscribe(api, receiver.url(f"/ok-{unique}"), job_id=job_id)
    assert subscription["secret"].startswith("whsec_")
    assert subscription["job_id"] == job_id
    listed = (await api.get("/v1/subscriptions", params={"job_id": job_id})).json()["items"]
    assert [s["id"] for s in listed] == [subscription["id"]]
    assert "secret" not in listed[0]

    event = scored(job_id)
    envelope = await producer.publish(event, key=event.application_id)
    [received] = await receiver.wait_for(f"/ok-{unique}", 1)
    verify(subscription["secret"], received.headers, received.body)
    assert received.headers["webhook-id"] == envelope.id
    body = json.loads(received.body)
    assert body["type"] == "cv.scored"
    assert body["event_id"] == envelope.id
    assert body["application_id"] == event.application_id
    assert body["job_id"] == job_id and body["job_version"] == 1
    assert body["score"] == 82.5 and body["recommendation"] == "advance"
    assert body["flags"] == ["hidden_text"]
    assert body["requirements"] == [
        {
            "id": f"{job_id}-r1",
            "text": "Python",
            "kind": "must",
            "weight": 1.0,
            "score": 90.0,
            "verdict": "met",
            "reason": "stated",
            "quotes": ["5 years of Python"],
        }
    ]
    [attempted] = await delivery_events(kafka_settings, event.application_id, 1)
    assert attempted.outcome == "delivered"
    assert attempted.subscription_id == subscription["id"]
    assert attempted.event_id == envelope.id
    assert attempted.attempt == 1 and attempted.status_code == 200

    # The same record again (same ce_id, same key, so the same partition), then a new one behind it.
    await producer.publish(event, key=event.application_id, event_id=envelope.id)
    later = scored(job_id)
    later.application_id = event.application_id
    await producer.publish(later, key=event.application_id)
    await receiver.wait_for(f"/ok-{unique}", 2)
    replayed = await delivery_events(kafka_settings, event.application_id, 3)
    assert [e.outcome for e in replayed] == ["delivered"] * 3
    # The replay reports the delivery already made, under the same id.
    assert replayed[1].delivery_id == replayed[0].delivery_id
    bodies = [json.loads(r.body) for r in receiver.at(f"/ok-{unique}")]
    assert [b["event_id"] for b in bodies].count(envelope.id) == 1
    assert len(bodies) == 2

    log = (await api.get("/v1/deliveries", params={"subscription_id": subscription["id"]})).json()["items"]
    assert sorted(d["state"] for d in log) == ["delivered", "delivered"]


async def test_failures_are_retried_and_reported_per_subscription(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, kafka_settings: KafkaSettings, unique: str
) -> None:
    job_id = f"job-{unique}"
    receiver.script[f"/flaky-{unique}"] = [500, 500]
    receiver.script[f"/down-{unique}"] = [503] * 10
    receiver.script[f"/gone-{unique}"] = [404] * 10
    flaky = await subscribe(api, receiver.url(f"/flaky-{unique}"), job_id=job_id)
    down = await subscribe(api, receiver.url(f"/down-{unique}"), job_id=job_id)
    gone = await subscribe(api, receiver.url(f"/gone-{unique}"), job_id=job_id)
    closed = await subscribe(api, f"http://127.0.0.1:{closed_port()}/hook", job_id=job_id)

    event = scored(job_id)
    await producer.publish(event, key=event.application_id)
    events = {e.subscription_id: e for e in await delivery_events(kafka_settings, event.application_id, 4)}

    flaky_requests = receiver.at(f"/flaky-{unique}")
    assert len(flaky_requests) == 3
    for request in flaky_requests:
        verify(flaky["secret"], request.headers, request.body)
    assert len({r.headers["webhook-id"] for r in flaky_requests}) == 1
    assert (events[flaky["id"]].outcome, events[flaky["id"]].attempt) == ("delivered", 3)

    assert len(receiver.at(f"/down-{unique}")) == 3
    assert (events[down["id"]].outcome, events[down["id"]].attempt) == ("failed", 3)
    assert events[down["id"]].status_code == 503 and events[down["id"]].error == "http_503"

    assert len(receiver.at(f"/gone-{unique}")) == 1
    assert (events[gone["id"]].outcome, events[gone["id"]].attempt) == ("failed", 1)

    assert (events[closed["id"]].outcome, events[closed["id"]].attempt) == ("failed", 3)
    assert events[closed["id"]].error == "connection_error"


async def test_filters_decide_who_gets_a_score_and_unmatched_scores_are_reported(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, kafka_settings: KafkaSettings, unique: str
) -> None:
    job_id = f"job-{unique}"
    strict = await subscribe(api, receiver.url(f"/strict-{unique}"), job_id=job_id, min_score=80)

    low = scored(job_id, score=50)
    await producer.publish(low, key=low.application_id)
    [attempted] = await delivery_events(kafka_settings, low.application_id, 1)
    assert attempted.outcome == "no_subscribers" and attempted.subscription_id == ""

    high = scored(job_id, score=90)
    await producer.publish(high, key=high.application_id)
    [attempted] = await delivery_events(kafka_settings, high.application_id, 1)
    assert attempted.outcome == "delivered" and attempted.subscription_id == strict["id"]
    assert [json.loads(r.body)["application_id"] for r in receiver.at(f"/strict-{unique}")] == [high.application_id]

    assert (await api.delete(f"/v1/subscriptions/{strict['id']}")).status_code == 204
    missing = await api.delete(f"/v1/subscriptions/{strict['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "subscription_not_found"
    assert (await api.get(f"/v1/subscriptions/{strict['id']}")).status_code == 404
    after = scored(job_id, score=95)
    await producer.publish(after, key=after.application_id)
    [attempted] = await delivery_events(kafka_settings, after.application_id, 1)
    assert attempted.outcome == "no_subscribers"
    assert len(receiver.at(f"/strict-{unique}")) == 1
