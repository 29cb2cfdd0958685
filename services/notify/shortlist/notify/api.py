"""REST API: webhook subscriptions, their breaker, secret rotation and test sends; deliveries and redelivery."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shortlist.notify import targets
from shortlist.notify.api_models import (
    AttemptOut,
    BreakerOut,
    CreatedSubscription,
    DeliveryDetail,
    DeliveryList,
    DeliveryOut,
    RotatedSecret,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
    TestResult,
)
from shortlist.notify.models import Attempt, Delivery, Subscription, utc
from shortlist.notify.sender import Sender, json_headers
from shortlist.notify.signing import generate_secret, secret_key, signature_headers
from shortlist.notify.store import NewSubscription, Store
from shortlist.notify.worker import Worker
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import ApiError

_NOT_FOUND = ("subscription_not_found", "no active subscription has this id")


def _delivery(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=d.delivery_id,
        subscription_id=d.subscription_id,
        event_id=d.event_id,
        application_id=d.application_id,
        job_id=d.job_id,
        state=d.state,
        attempts=d.attempts,
        status_code=d.status_code,
        error=d.error,
        created_at=utc(d.created_at),
        next_at=utc(d.next_at) if d.next_at and d.state == "pending" else None,
        finished_at=utc(d.finished_at) if d.finished_at else None,
    )


def _attempt(a: Attempt) -> AttemptOut:
    return AttemptOut(
        number=a.number, at=utc(a.at), status_code=a.status_code, latency_seconds=a.latency_seconds, error=a.error
    )


def _valid_secret(secret: str) -> str:
    try:
        secret_key(secret)
    except ValueError as exc:
        raise ApiError(422, "invalid_secret", str(exc)) from exc
    return secret


class RotateIn(BaseModel):
    secret: str | None = Field(default=None, description="the new secret; generated when not given")
    grace_seconds: float | None = Field(default=None, ge=0, le=30 * 86_400)


def router(
    store: Store,
    worker: Worker,
    sender: Sender,
    allowed_hosts: frozenset[str],
    keys: KeyRing,
    grace_seconds: float,
    lookup: targets.Lookup = targets.system_lookup,
) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["subscriptions"])
    read = [Depends(keys.require("subscriptions:read"))]
    write = [Depends(keys.require("subscriptions:write"))]

    def out(s: Subscription) -> dict[str, Any]:
        endpoint = worker.endpoint_of(s)
        endpoint.free()  # moves an open breaker whose cool-down passed to half-open
        return {
            "id": s.id,
            "url": s.url,
            "job_id": s.job_id,
            "min_score": s.min_score,
            "recommendations": s.recommendation_list or None,
            "paused": s.paused,
            "failing": s.failing_since is not None,
            "failing_since": utc(s.failing_since) if s.failing_since else None,
            "created_at": utc(s.created_at),
            "breaker": BreakerOut(
                state=endpoint.state, consecutive_failures=endpoint.failures, in_flight=endpoint.in_flight
            ),
        }

    async def found(subscription_id: str) -> Subscription:
        subscription = await store.subscription(subscription_id)
        if subscription is None:
            raise ApiError(404, *_NOT_FOUND)
        return subscription

    async def checked(url: str) -> None:
        try:
            await targets.check(url, allowed_hosts, lookup)
        except targets.TargetNotAllowed as exc:
            raise ApiError(400, "target_not_allowed", str(exc)) from exc

    @api.post("/subscriptions", status_code=201, dependencies=write)
    async def create_subscription(body: SubscriptionIn) -> CreatedSubscription:
        await checked(body.url)
        secret = _valid_secret(body.secret or generate_secret())
        new = NewSubscription(body.url, secret, body.job_id, body.min_score, tuple(body.recommendations or ()))
        created = await store.add_subscription(new)
        return CreatedSubscription(**out(created), secret=created.secret)

    @api.get("/subscriptions", dependencies=read)
    async def list_subscriptions(job_id: str | None = None) -> SubscriptionList:
        return SubscriptionList(items=[SubscriptionOut(**out(s)) for s in await store.subscriptions(job_id)])

    @api.get("/subscriptions/{subscription_id}", dependencies=read)
    async def get_subscription(subscription_id: str) -> SubscriptionOut:
        return SubscriptionOut(**out(await found(subscription_id)))

    @api.patch("/subscriptions/{subscription_id}", dependencies=write)
    async def patch_subscription(subscription_id: str, body: SubscriptionPatch) -> SubscriptionOut:
        changes = {name: getattr(body, name) for name in body.model_fields_set}
        if "url" in changes:
            if changes["url"] is None:
                raise ApiError(422, "invalid_request", "url: may not be null")
            await checked(changes["url"])
        if "paused" in changes and changes["paused"] is None:
            raise ApiError(422, "invalid_request", "paused: may not be null")
        if "recommendations" in changes:
            changes["recommendations"] = ",".join(changes["recommendations"] or ()) or None
        updated = await store.update_subscription(subscription_id, changes)
        if updated is None:
            raise ApiError(404, *_NOT_FOUND)
        worker.wake()
        return SubscriptionOut(**out(updated))

    @api.delete("/subscriptions/{subscription_id}", status_code=204, dependencies=write)
    async def delete_subscription(subscription_id: str) -> None:
        if not await store.deactivate(subscription_id):
            raise ApiError(404, *_NOT_FOUND)

    @api.post("/subscriptions/{subscription_id}/rotate-secret", dependencies=write)
    async def rotate_secret(subscription_id: str, body: RotateIn | None = None) -> RotatedSecret:
        current = await found(subscription_id)
        request = body or RotateIn()
        secret = _valid_secret(request.secret or generate_secret())
        until = datetime.now(UTC) + timedelta(
            seconds=grace_seconds if request.grace_seconds is None else request.grace_seconds
        )
        changes = {"secret": secret, "previous_secret": current.secret, "previous_secret_until": until}
        if await store.update_subscription(subscription_id, changes) is None:
            raise ApiError(404, *_NOT_FOUND)
        return RotatedSecret(id=subscription_id, secret=secret, previous_secret_valid_until=until)

    @api.post("/subscriptions/{subscription_id}/test", dependencies=write)
    async def test_subscription(subscription_id: str) -> TestResult:
        """Send one signed ``webhook.test`` message now, outside the queue, and answer what the target said."""
        subscription = await found(subscription_id)
        message_id = f"test_{uuid.uuid4()}"
        now = datetime.now(UTC)
        body = f'{{"type":"webhook.test","subscription_id":"{subscription.id}","sent_at":"{now.isoformat()}"}}'.encode()
        headers = json_headers(signature_headers(subscription.secrets(now), message_id, body))
        sent = await sender.post(subscription.url, headers, body)
        return TestResult(
            webhook_id=message_id,
            delivered=sent.delivered,
            status_code=sent.status_code,
            error=sent.error,
            latency_seconds=round(sent.latency_seconds, 4),
        )

    @api.get("/deliveries", tags=["deliveries"], dependencies=read)
    async def list_deliveries(
        subscription_id: str | None = None,
        application_id: str | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> DeliveryList:
        rows = await store.deliveries(subscription_id, application_id, limit)
        return DeliveryList(items=[_delivery(d) for d in rows])

    @api.get("/deliveries/{delivery_id}", tags=["deliveries"], dependencies=read)
    async def get_delivery(delivery_id: str) -> DeliveryDetail:
        result = await store.delivery(delivery_id)
        if result is None:
            raise ApiError(404, "delivery_not_found", "no delivery has this id")
        delivery, attempts = result
        return DeliveryDetail(**_delivery(delivery).model_dump(), attempt_log=[_attempt(a) for a in attempts])

    @api.post("/deliveries/{delivery_id}/redeliver", status_code=202, tags=["deliveries"], dependencies=write)
    async def redeliver(delivery_id: str) -> DeliveryOut:
        result = await store.delivery(delivery_id)
        if result is None:
            raise ApiError(404, "delivery_not_found", "no delivery has this id")
        if await store.subscription(result[0].subscription_id) is None:
            raise ApiError(409, "subscription_not_found", "the delivery's subscription was deleted")
        again = await store.redeliver(delivery_id)
        if again is None:
            raise ApiError(409, "not_redeliverable", "the delivery predates stored payloads and cannot be sent again")
        worker.wake()
        return _delivery(again)

    return api
