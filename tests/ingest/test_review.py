"""Reviewers' overrides next to the computed score, and candidate erasure, through ingest's API on the broker."""

import uuid
from typing import Any

import httpx

from shortlist.runtime.events import decode_message, header_map
from shortlist.runtime.producer import EventProducer
from shortlist.runtime.settings import KafkaSettings
from shortlist.runtime.topics import CANDIDATES_ERASED, CV_SUBMITTED, dlt
from shortlist.v1 import cv_pb2, score_pb2
from tests.ingest.test_api import CV_LINES, create_job, find_record, ingest, wait_for

__all__ = ["ingest"]  # the module's service fixture

READER = {"Authorization": "Bearer reader-key"}


async def submit(client: httpx.AsyncClient, job_id: str, email: str | None = None) -> str:
    body: dict[str, Any] = {"job_id": job_id, "text": "\n".join(CV_LINES) + f"\n{uuid.uuid4().hex}"}
    if email:
        body["candidate_email"] = email
    response = await client.post("/v1/applications", json=body)
    assert response.status_code == 202, response.text
    application_id: str = response.json()["id"]
    return application_id


def scored(app_id: str, job_id: str, score: float, recommendation: score_pb2.Recommendation) -> score_pb2.CvScored:
    return score_pb2.CvScored(
        application_id=app_id, job_id=job_id, job_version=1, score=score, recommendation=recommendation
    )


async def score(
    client: httpx.AsyncClient,
    producer: EventProducer,
    app_id: str,
    job_id: str,
    value: float,
    recommendation: score_pb2.Recommendation,
) -> None:
    await producer.publish(scored(app_id, job_id, value, recommendation), key=app_id)
    await wait_for(client, app_id, lambda b: (b["score"] or {}).get("score") == value)


async def test_an_override_is_kept_next_to_the_computed_score(
    ingest: httpx.AsyncClient, producer: EventProducer
) -> None:
    job = await create_job(ingest)
    top, other = await submit(ingest, job["id"]), await submit(ingest, job["id"])
    url = f"/v1/applications/{top}/override"
    early = await ingest.post(url, json={"recommendation": "reject", "reason": "Too early"})
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_scored")

    await score(ingest, producer, top, job["id"], 88.0, score_pb2.RECOMMENDATION_ADVANCE)
    await score(ingest, producer, other, job["id"], 62.0, score_pb2.RECOMMENDATION_REVIEW)
    refused = {
        "reason_required": [{"score": 40}, {"score": 40, "reason": "   "}, {"score": 40, "reason": None}],
        "nothing_to_override": [{"reason": "No change"}, {"reason": "x", "score": None, "recommendation": None}],
        "invalid_request": [
            {"score": 140, "reason": "Too high"},
            {"score": True, "reason": "Not a number"},
            {"score": "55", "reason": "A string"},
            {"recommendation": "hire", "reason": "Unknown"},
            {"score": 40, "reason": "x" * 2001},
            [1, 2],
        ],
    }
    for code, bodies in refused.items():
        for body in bodies:
            response = await ingest.post(url, json=body)
            assert (response.status_code, response.json()["error"]["code"]) == (422, code), body
    missing = await ingest.post("/v1/applications/nope/override", json={"score": 10, "reason": "Gone"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "application_not_found")
    forbidden = await ingest.post(url, json={"score": 10, "reason": "Reader"}, headers=READER)
    assert forbidden.status_code == 403

    first = await ingest.post(url, json={"score": 55, "reason": "Kafka was a student project", "by": "rita"})
    assert first.status_code == 201, first.text
    second = await ingest.post(url, json={"recommendation": "reject", "reason": "Withdrew by phone"})
    assert second.status_code == 201

    body = (await ingest.get(f"/v1/applications/{top}")).json()
    assert body["score"]["score"] == 88.0 and body["score"]["recommendation"] == "advance"
    assert body["override_count"] == 2
    current = body["override"]
    assert current["recommendation"] == "reject" and current["score"] is None and current["by"] is None
    assert current["reason"] == "Withdrew by phone" and current["computed_score"] == 88.0
    assert [o["reason"] for o in body["overrides"]] == ["Withdrew by phone", "Kafka was a student project"]
    assert body["overrides"][1] | {"at": None} == {
        "score": 55.0,
        "recommendation": None,
        "reason": "Kafka was a student project",
        "by": "rita",
        "at": None,
        "computed_score": 88.0,
        "computed_recommendation": "advance",
    }

    # The ranking stays in computed order and filters by the computed values; each item carries its override.
    ranking = (await ingest.get(f"/v1/jobs/{job['id']}/ranking")).json()
    assert [(i["application_id"], i["score"]) for i in ranking["items"]] == [(top, 88.0), (other, 62.0)]
    assert ranking["items"][0]["override"] == current and ranking["items"][1]["override"] is None
    advanced = (await ingest.get(f"/v1/jobs/{job['id']}/ranking", params={"recommendation": "advance"})).json()
    assert [i["application_id"] for i in advanced["items"]] == [top]

    # A re-score replaces the computed score and keeps the overrides.
    await score(ingest, producer, top, job["id"], 71.0, score_pb2.RECOMMENDATION_ADVANCE)
    body = (await ingest.get(f"/v1/applications/{top}")).json()
    assert body["score"]["score"] == 71.0 and body["override_count"] == 2 and body["override"] == current
    third = await ingest.post(url, json={"score": 80, "reason": "Strong references"})
    assert third.json()["override"]["computed_score"] == 71.0 and third.json()["override_count"] == 3


async def test_erasing_a_candidate_removes_applications_and_overrides(
    ingest: httpx.AsyncClient, producer: EventProducer, kafka_settings: KafkaSettings
) -> None:
    job = await create_job(ingest)
    email = f"erase-{uuid.uuid4().hex[:8]}@example.com"
    first, second = await submit(ingest, job["id"], email), await submit(ingest, job["id"], email.upper())
    kept = await submit(ingest, job["id"], f"keep-{uuid.uuid4().hex[:8]}@example.com")
    for app_id in (first, kept):
        await score(ingest, producer, app_id, job["id"], 75.0, score_pb2.RECOMMENDATION_ADVANCE)
    override = {"recommendation": "review", "reason": "Spoke to the candidate's former manager"}
    assert (await ingest.post(f"/v1/applications/{first}/override", json=override)).status_code == 201
    candidate = (await ingest.get(f"/v1/applications/{first}")).json()["candidate_id"]
    assert candidate and (await ingest.get(f"/v1/applications/{second}")).json()["candidate_id"] == candidate

    assert (await ingest.delete(f"/v1/candidates/{candidate}", headers=READER)).status_code == 403
    response = await ingest.delete(f"/v1/candidates/{candidate}")
    assert response.status_code == 202, response.text
    assert sorted(response.json()["application_ids"]) == sorted([first, second])
    for app_id in (first, second):
        gone = await ingest.get(f"/v1/applications/{app_id}")
        assert (gone.status_code, gone.json()["error"]["code"]) == (404, "application_not_found")
    ranking = (await ingest.get(f"/v1/jobs/{job['id']}/ranking")).json()
    assert [i["application_id"] for i in ranking["items"]] == [kept]

    found = await find_record(kafka_settings, CANDIDATES_ERASED, candidate)
    event = decode_message(CANDIDATES_ERASED, header_map(found.headers), found.value)
    assert isinstance(event, cv_pb2.CandidateErased)
    assert sorted(event.application_ids) == sorted([first, second]) and event.erased_at.seconds > 0

    # A score still in flight for an erased application does not bring it back: the late record and a later one
    # for the kept application share a key, so once the second shows, the first was handled.
    await producer.publish(scored(first, job["id"], 90.0, score_pb2.RECOMMENDATION_ADVANCE), key=first)
    await producer.publish(scored(kept, job["id"], 66.0, score_pb2.RECOMMENDATION_REVIEW), key=first)
    await wait_for(ingest, kept, lambda b: b["score"]["score"] == 66.0)
    assert (await ingest.get(f"/v1/applications/{first}")).status_code == 404
    # Nor does an upstream system replaying the submission: it is dead-lettered and the application stays gone.
    replay = cv_pb2.CvSubmitted(application_id=second, job_id=job["id"], text="\n".join(CV_LINES))
    await producer.publish(replay, key=second)
    dead = await find_record(kafka_settings, dlt(CV_SUBMITTED), second)
    assert header_map(dead.headers)["dlt-exception-type"] == "application_erased"
    assert (await ingest.get(f"/v1/applications/{second}")).status_code == 404
    # Erasing again is harmless and still announced downstream.
    again = await ingest.delete(f"/v1/candidates/{candidate}")
    assert again.status_code == 202 and again.json()["application_ids"] == []
