"""Every /v1 route of every service, from its OpenAPI: 401 without a key or with a wrong one, 403 without its scope."""

import re
from typing import Any

import httpx
import pytest

from shortlist.cli.stack import SERVICES, Stack
from tests.e2e.keys import EXCEPT, ONLY, SCOPES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

METHODS = ("get", "post", "put", "patch", "delete")


def v1_routes(openapi: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in openapi["paths"].items()
        if path.startswith("/v1/")
        for method in operations
        if method in METHODS
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "guard-probe-id", path)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_every_v1_route_requires_a_known_key_with_its_scope(stack: Stack) -> None:
    checked: list[str] = []
    for service in SERVICES:
        async with httpx.AsyncClient(base_url=stack.url(service), timeout=30) as client:
            openapi = (await client.get("/openapi.json")).json()
            for method, path in v1_routes(openapi):
                url = concrete(path)
                route = f"{service} {method} {path}"

                async def call(headers: dict[str, str], method: str = method, url: str = url) -> httpx.Response:
                    return await client.request(method, url, headers=headers)

                for headers, why in (
                    ({}, "no key"),
                    (bearer("sk_not_a_key"), "a wrong key"),
                    ({"Authorization": "Basic c2tfZTJlOng="}, "another scheme"),
                ):
                    answer = await call(headers)
                    assert answer.status_code == 401, f"{route} with {why}: {answer.status_code} {answer.text}"
                    assert answer.json()["error"]["code"] == "unauthorized", route

                passing = [scope for scope in SCOPES if (await call(bearer(ONLY[scope]))).status_code not in (401, 403)]
                assert len(passing) == 1, f"{route} lets keys of scopes {passing} through, expected exactly one"
                (scope,) = passing
                refused = await call(bearer(EXCEPT[scope]))
                assert refused.status_code == 403, f"{route} with every scope but {scope}: {refused.status_code}"
                assert refused.json()["error"]["code"] == "forbidden"
                assert scope in refused.json()["error"]["message"]
                checked.append(f"{route} [{scope}]")
    # Every service but score has /v1 routes; the walk must have found them.
    assert {line.split()[0] for line in checked} == {"ingest", "embed", "notify"}, checked
    assert len(checked) >= 15, checked
