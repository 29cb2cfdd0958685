"""REST API: webhook subscriptions and the delivery log."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from shortlist.notify import targets
from shortlist.notify.signing import generate_secret, secret_key
from shortlist.notify.store import Delivery, NewSubscription, Store, Subscription, utc
from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import ApiError


class SubscriptionIn(BaseModel):
    url: str = Field(min_length=1, max_length=2048)
    job_id: str | None = Field(default=None, min_length=1, max_length=128)
    min_score: float | None = Field(default=None, ge=0, le=100)
    secret: str | None = Field(default=None, description="whsec_<base64 of 24 to 64 bytes>; generated when not given")


class SubscriptionOut(BaseModel):
    id: str
    url: str
    job_id: str | None
    min_score: float | None
    created_at: datetime


class CreatedSubscription(SubscriptionOut):
    secret: str


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class DeliveryOut(BaseModel):
    delivery_id: str
    subscription_id: str
    event_id: str
    application_id: str
    attempt: int
    outcome: str
    status_code: int | None
    error: str | None
    at: datetime


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


def _subscription(s: Subscription) -> dict[str, Any]:
    return {"id": s.id, "url": s.url, "job_id": s.job_id, "min_score": s.min_score, "created_at": utc(s.created_at)}


def _delivery(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=d.delivery_id,
        subscription_id=d.subscription_id,
        event_id=d.event_id,
        application_id=d.application_id,
        attempt=d.attempt,
        outcome=d.outcome,
        status_code=d.status_code,
        error=d.error,
        at=utc(d.at),
    )


def router(store: Store, allowed_hosts: frozenset[str], keys: KeyRing) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["subscriptions"])
    read = [Depends(keys.require("subscriptions:read"))]
    write = [Depends(keys.require("subscriptions:write"))]

    @api.post("/subscriptions", status_code=201, dependencies=write)
    async def create_subscription(body: SubscriptionIn) -> CreatedSubscription:
        try:
            await targets.check(body.url, allowed_hosts)
        except targets.TargetNotAllowed as exc:
            raise ApiError(400, "target_not_allowed", str(exc)) from exc
        secret = body.secret or generate_secret()
        try:
            secret_key(secret)
        except ValueError as exc:
            raise ApiError(422, "invalid_secret", str(exc)) from exc
        created = await store.add_subscription(NewSubscription(body.url, secret, body.job_id, body.min_score))
        return CreatedSubscription(**_subscription(created), secret=created.secret)

    @api.get("/subscriptions", dependencies=read)
    async def list_subscriptions(job_id: str | None = None) -> SubscriptionList:
        return SubscriptionList(items=[SubscriptionOut(**_subscription(s)) for s in await store.subscriptions(job_id)])

    @api.get("/subscriptions/{subscription_id}", dependencies=read)
    async def get_subscription(subscription_id: str) -> SubscriptionOut:
        found = await store.subscription(subscription_id)
        if found is None:
            raise ApiError(404, "subscription_not_found", "no active subscription has this id")
        return SubscriptionOut(**_subscription(found))

    @api.delete("/subscriptions/{subscription_id}", status_code=204, dependencies=write)
    async def delete_subscription(subscription_id: str) -> Response:
        if not await store.deactivate(subscription_id):
            raise ApiError(404, "subscription_not_found", "no active subscription has this id")
        return Response(status_code=204)

    @api.get("/deliveries", tags=["deliveries"], dependencies=read)
    async def list_deliveries(
        subscription_id: str | None = None,
        application_id: str | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> DeliveryList:
        found = await store.deliveries(subscription_id, application_id, limit)
        return DeliveryList(items=[_delivery(d) for d in found])

    return api
