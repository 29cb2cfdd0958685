"""Notify killed with SIGKILL while retries are pending: after a restart every delivery completes, once."""

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shortlist.runtime.broker import free_port
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from tests.notify.conftest import Receiver
from tests.notify.test_service import scored

SCORES = 20
pytestmark = pytest.mark.timeout(180)


class Notify:
    def __init__(self, settings: KafkaSettings, tmp_path: Path) -> None:
        self.port = free_port()
        self.db = tmp_path / "state" / "notify.db"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SHORTLIST_")} | {
            "SHORTLIST_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SHORTLIST_NOTIFY_PORT": str(self.port),
            "SHORTLIST_STATE_DIR": str(tmp_path / "state"),
            "SHORTLIST_API_KEYS": "test-key",
            "SHORTLIST_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "SHORTLIST_WEBHOOK_RETRY_SCHEDULE": "1.5,0.2,0.2,0.2,0.2",
            "SHORTLIST_WEBHOOK_LEASE_SECONDS": "2",
            "SHORTLIST_WEBHOOK_BREAKER_FAILURES": "1000",
            "SHORTLIST_CONSUMER_POLL_MS": "100",
        }
        self.log = tmp_path / "notify.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shortlist.notify"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                assert self.process is not None and self.process.poll() is None, self.log.read_text()[-2000:]
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.api}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError("notify did not become ready")

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def subscribe(self, url: str, job_id: str) -> str:
        async with httpx.AsyncClient(headers={"Authorization": "Bearer test-key"}) as client:
            response = await client.post(f"{self.api}/v1/subscriptions", json={"url": url, "job_id": job_id})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def states(self) -> dict[str, int]:
        with contextlib.closing(sqlite3.connect(self.db, timeout=10)) as db:
            rows = db.execute("SELECT state, attempts FROM webhook_deliveries").fetchall()
        found: dict[str, int] = {}
        for state, attempts in rows:
            key = f"{state}/{'tried' if attempts else 'untried'}"
            found[key] = found.get(key, 0) + 1
        return found


@pytest.fixture
def notify(kafka_settings: KafkaSettings, topics_ready: None, tmp_path: Path) -> Iterator[Notify]:
    running = Notify(kafka_settings, tmp_path)
    yield running
    running.kill()


async def test_pending_retries_survive_sigkill_and_complete_once(
    notify: Notify, receiver: Receiver, producer: EventProducer, unique: str
) -> None:
    path = f"/crash-{unique}"
    receiver.script[path] = [503] * SCORES  # every first attempt fails: a retry is pending for each
    notify.start()
    await notify.ready()
    subscription_id = await notify.subscribe(receiver.url(path), unique)

    events = [scored(unique) for _ in range(SCORES)]
    envelopes = await asyncio.gather(*(producer.publish(e, key=e.application_id) for e in events))
    for _ in range(600):
        if notify.states().get("pending/tried") == SCORES:
            break
        await asyncio.sleep(0.02)
    assert notify.states() == {"pending/tried": SCORES}
    notify.kill()
    assert notify.states() == {"pending/tried": SCORES}
    assert len(receiver.at(path)) == SCORES  # the failed first attempts only

    notify.start()  # the delivery worker needs no consumer group: it does not wait for the rebalance
    accepted = await receiver.wait_for(path, 2 * SCORES, within=90)
    retries = accepted[SCORES:]
    assert sorted(r.headers["webhook-id"] for r in retries) == sorted(e.id for e in envelopes)  # none lost, once each
    async with httpx.AsyncClient(headers={"Authorization": "Bearer test-key"}) as client:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                deliveries = f"{notify.api}/v1/deliveries"
                log = (await client.get(deliveries, params={"subscription_id": subscription_id})).json()
                if all(d["state"] == "delivered" for d in log["items"]):
                    break
            await asyncio.sleep(0.1)
    assert len(log["items"]) == SCORES
    assert {(d["state"], d["attempts"]) for d in log["items"]} == {("delivered", 2)}
    await asyncio.sleep(0.5)
    assert len(receiver.at(path)) == 2 * SCORES  # and nothing sent a third time


async def test_answers_received_just_before_sigkill_are_not_sent_again(
    notify: Notify, receiver: Receiver, producer: EventProducer, unique: str
) -> None:
    path = f"/answered-{unique}"
    notify.start()
    await notify.ready()
    await notify.subscribe(receiver.url(path), unique)

    events = [scored(unique) for _ in range(SCORES)]
    await asyncio.gather(*(producer.publish(e, key=e.application_id) for e in events))
    for _ in range(6000):
        if len(receiver.at(path)) >= SCORES:
            break
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.005)  # the last answer is on its way back; its outcome is not in the database yet
    notify.kill()
    assert len(receiver.at(path)) == SCORES

    notify.start()
    for _ in range(600):
        if notify.states() == {"delivered/tried": SCORES}:
            break
        await asyncio.sleep(0.05)
    assert notify.states() == {"delivered/tried": SCORES}
    await asyncio.sleep(3 * 2)  # three leases: a delivery left leased would have been sent again by now
    assert len(receiver.at(path)) == SCORES


async def test_a_request_in_flight_at_sigkill_is_logged_as_interrupted_and_sent_again_at_once(
    notify: Notify, receiver: Receiver, producer: EventProducer, unique: str
) -> None:
    path = f"/in-flight-{unique}"
    receiver.script[path] = ["hang"]  # the first request gets no answer before notify dies
    notify.start()
    await notify.ready()
    await notify.subscribe(receiver.url(path), unique)
    event = scored(unique)
    await producer.publish(event, key=event.application_id)
    assert len(await receiver.wait_for(path, 1)) == 1
    notify.kill()

    notify.start()
    assert len(await receiver.wait_for(path, 2, within=30)) == 2
    for _ in range(600):
        if notify.states() == {"delivered/tried": 1}:
            break
        await asyncio.sleep(0.05)
    with contextlib.closing(sqlite3.connect(notify.db, timeout=10)) as db:
        attempts = db.execute("SELECT number, status_code, error FROM webhook_attempts ORDER BY number").fetchall()
    assert attempts == [(1, None, "interrupted"), (2, 200, None)]
