"""The completed subscription API, Retry-After, the breaker's probe, and DNS rebinding against a stub resolver."""

import asyncio
import ipaddress
import json
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from shortlist.notify.config import Settings
from shortlist.notify.signing import SignatureError, verify
from shortlist.notify.targets import IpAddress
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.v1 import score_pb2
from tests.notify.conftest import Receiver, delivery_events, notify_api
from tests.notify.test_service import scored, subscribe

#: Host name → the answers the stub resolver gives, one per lookup; the last one repeats.
ANSWERS: dict[str, list[list[str]]] = {}
LOOKUPS: list[str] = []


async def stub_lookup(host: str, port: int) -> list[IpAddress]:
    LOOKUPS.append(host)
    answers = ANSWERS.get(host)
    if not answers:
        raise OSError("unknown host")
    answer = answers.pop(0) if len(answers) > 1 else answers[0]
    return [ipaddress.ip_address(a) for a in answer]


@pytest.fixture(scope="module")
async def api(
    kafka_settings: KafkaSettings, topics_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        **{**kafka_settings.model_dump(), "state_dir": tmp_path_factory.mktemp("notify-api") / "state"},
        # Loopback receivers are allowed explicitly, by the names the URLs use.
        webhook_allowed_hosts="127.0.0.1,pinned.test",
        api_keys="test-key",
        webhook_retry_schedule="0.05,0.05,0.05,0.05",
        webhook_breaker_failures=3,
        webhook_breaker_cooldown_seconds=0.3,
    )
    async with notify_api(settings, lookup=stub_lookup) as client:
        yield client


async def settled(api: httpx.AsyncClient, subscription_id: str, count: int) -> list[dict[str, object]]:
    """The subscription's deliveries once ``count`` of them are no longer pending."""
    items: list[dict[str, object]] = []
    for _ in range(600):
        items = (await api.get("/v1/deliveries", params={"subscription_id": subscription_id})).json()["items"]
        if len([d for d in items if d["state"] != "pending"]) >= count:
            break
        await asyncio.sleep(0.05)
    return items


async def test_a_host_rebinding_to_loopback_after_the_check_is_never_connected_to(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, kafka_settings: KafkaSettings, unique: str
) -> None:
    host = f"rebind-{unique}.test"
    ANSWERS[host] = [["93.184.216.34"], ["127.0.0.1"]]
    path = f"/rebind-{unique}"
    subscription = await subscribe(api, f"http://{host}:{receiver.port}{path}", job_id=f"job-{unique}")  # public
    event = scored(f"job-{unique}")
    await producer.publish(event, key=event.application_id)
    [attempted] = await delivery_events(kafka_settings, event.application_id, 1)
    assert (attempted.outcome, attempted.error) == ("skipped", "target_not_allowed")
    assert attempted.subscription_id == subscription["id"]
    assert LOOKUPS.count(host) == 2  # once at subscription, once for the connection: never a third lookup
    assert receiver.at(path) == []


async def test_the_connection_goes_to_the_address_the_resolver_checked(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, kafka_settings: KafkaSettings, unique: str
) -> None:
    # pinned.test exists only in the stub resolver: a request reaching the receiver went to the address it gave.
    ANSWERS["pinned.test"] = [["127.0.0.1"]]
    path = f"/pinned-{unique}"
    await subscribe(api, f"http://pinned.test:{receiver.port}{path}", job_id=f"job-{unique}")
    event = scored(f"job-{unique}")
    await producer.publish(event, key=event.application_id)
    [received] = await receiver.wait_for(path, 1)
    assert received.headers["host"] == f"pinned.test:{receiver.port}"


async def test_retry_after_is_honoured_and_every_attempt_is_logged(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, unique: str
) -> None:
    path = f"/slow-down-{unique}"
    receiver.script[path] = [(429, {"Retry-After": "1"}), 503]
    subscription = await subscribe(api, receiver.url(path), job_id=f"job-{unique}")
    event = scored(f"job-{unique}")
    await producer.publish(event, key=event.application_id)
    [delivery] = await settled(api, subscription["id"], 1)
    detail = (await api.get(f"/v1/deliveries/{delivery['delivery_id']}")).json()
    assert (detail["state"], detail["attempts"]) == ("delivered", 3)
    log = detail["attempt_log"]
    assert [(a["number"], a["status_code"], a["error"]) for a in log] == [
        (1, 429, "http_429"),
        (2, 503, "http_503"),
        (3, 200, None),
    ]
    first, second = (datetime.fromisoformat(a["at"]) for a in log[:2])
    assert (second - first).total_seconds() >= 0.95  # not before the receiver asked (the schedule says 0.05 s)
    missing = await api.get("/v1/deliveries/no-such-delivery")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "delivery_not_found"


async def test_patch_pauses_filters_and_moves_a_subscription(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, kafka_settings: KafkaSettings, unique: str
) -> None:
    job_id = f"job-{unique}"
    subscription = await subscribe(api, receiver.url(f"/a-{unique}"), job_id=job_id)
    paused = await api.patch(f"/v1/subscriptions/{subscription['id']}", json={"paused": True})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    held = scored(job_id)
    await producer.publish(held, key=held.application_id)
    for _ in range(100):
        if (await api.get("/v1/deliveries", params={"application_id": held.application_id})).json()["items"]:
            break
        await asyncio.sleep(0.05)
    [waiting] = (await api.get("/v1/deliveries", params={"application_id": held.application_id})).json()["items"]
    assert waiting["state"] == "pending" and receiver.at(f"/a-{unique}") == []

    resumed = await api.patch(
        f"/v1/subscriptions/{subscription['id']}",
        json={"paused": False, "url": receiver.url(f"/b-{unique}"), "recommendations": ["review"], "min_score": 50},
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["recommendations"] == ["review"] and resumed.json()["min_score"] == 50
    [received] = await receiver.wait_for(f"/b-{unique}", 1)  # the held score, to the new URL
    assert json.loads(received.body)["application_id"] == held.application_id

    advance = scored(job_id)  # recommendation advance: filtered out now
    await producer.publish(advance, key=advance.application_id)
    [attempted] = await delivery_events(kafka_settings, advance.application_id, 1)
    assert attempted.outcome == "no_subscribers"
    review = scored(job_id)
    review.recommendation = score_pb2.RECOMMENDATION_REVIEW
    await producer.publish(review, key=review.application_id)
    [attempted] = await delivery_events(kafka_settings, review.application_id, 1)
    assert attempted.outcome == "delivered"

    refused = await api.patch(f"/v1/subscriptions/{subscription['id']}", json={"url": "http://10.0.0.1/hook"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "target_not_allowed"
    bad = await api.patch(f"/v1/subscriptions/{subscription['id']}", json={"recommendations": ["maybe"]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    gone = await api.patch("/v1/subscriptions/nope", json={"paused": True})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "subscription_not_found"


async def test_rotation_signs_with_both_secrets_during_the_grace_period(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, unique: str
) -> None:
    job_id = f"job-{unique}"
    path = f"/rotate-{unique}"
    subscription = await subscribe(api, receiver.url(path), job_id=job_id)
    old = subscription["secret"]
    rotated = await api.post(f"/v1/subscriptions/{subscription['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")

    test = await api.post(f"/v1/subscriptions/{subscription['id']}/test")
    assert test.status_code == 200 and test.json()["delivered"] is True and test.json()["status_code"] == 200
    [received] = await receiver.wait_for(path, 1)
    assert json.loads(received.body)["type"] == "webhook.test"
    assert len(received.headers["webhook-signature"].split()) == 2
    assert verify(old, received.headers, received.body) and verify(new, received.headers, received.body)

    ended = await api.post(f"/v1/subscriptions/{subscription['id']}/rotate-secret", json={"grace_seconds": 0})
    newest = ended.json()["secret"]
    event = scored(job_id)
    await producer.publish(event, key=event.application_id)
    received = (await receiver.wait_for(path, 2))[1]
    assert received.headers["webhook-signature"].count("v1,") == 1
    assert verify(newest, received.headers, received.body)
    with pytest.raises(SignatureError):
        verify(new, received.headers, received.body)


async def test_redelivery_sends_the_same_webhook_again(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, unique: str
) -> None:
    path = f"/again-{unique}"
    subscription = await subscribe(api, receiver.url(path), job_id=f"job-{unique}")
    event = scored(f"job-{unique}")
    await producer.publish(event, key=event.application_id)
    [delivery] = await settled(api, subscription["id"], 1)
    again = await api.post(f"/v1/deliveries/{delivery['delivery_id']}/redeliver")
    assert again.status_code == 202 and again.json()["state"] == "pending"
    first, second = await receiver.wait_for(path, 2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    for _ in range(100):
        detail = (await api.get(f"/v1/deliveries/{delivery['delivery_id']}")).json()
        if detail["state"] == "delivered" and detail["attempts"] == 2:
            break
        await asyncio.sleep(0.05)
    assert [a["number"] for a in detail["attempt_log"]] == [1, 2]


async def test_the_breaker_opens_probes_once_and_closes(
    api: httpx.AsyncClient, receiver: Receiver, producer: EventProducer, unique: str
) -> None:
    # Its own endpoint: a host name allowed nowhere else would need DNS, so the receiver's port is shared;
    # the failures are what this endpoint sees while the test runs.
    path = f"/breaker-{unique}"
    receiver.script[path] = [500, 500, 500, 500]
    subscription = await subscribe(api, receiver.url(path), job_id=f"job-{unique}")
    seen = set()
    event = scored(f"job-{unique}")
    await producer.publish(event, key=event.application_id)
    for _ in range(400):
        breaker = (await api.get(f"/v1/subscriptions/{subscription['id']}")).json()["breaker"]
        seen.add(breaker["state"])
        if len(receiver.at(path)) == 5 and breaker["state"] == "closed":
            break
        await asyncio.sleep(0.01)
    assert "open" in seen
    assert breaker == {"state": "closed", "consecutive_failures": 0, "in_flight": 0}
    [delivery] = await settled(api, subscription["id"], 1)
    assert (delivery["state"], delivery["attempts"]) == ("delivered", 5)
