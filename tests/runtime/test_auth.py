import httpx
from fastapi import Depends

from shortlist.runtime.auth import KeyRing
from shortlist.runtime.http import create_app


async def _ready() -> None:
    return None


def _client() -> httpx.AsyncClient:
    keys = KeyRing("reader-key:jobs:read, admin-key")
    app = create_app("test", _ready)

    @app.post("/v1/jobs", dependencies=[Depends(keys.require("jobs:write"))])
    async def create() -> dict[str, str]:
        return {"status": "created"}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_missing_unknown_and_underscoped_keys_are_refused() -> None:
    async with _client() as client:
        missing = await client.post("/v1/jobs")
        unknown = await client.post("/v1/jobs", headers={"Authorization": "Bearer nope"})
        reader = await client.post("/v1/jobs", headers={"Authorization": "Bearer reader-key"})
        admin = await client.post("/v1/jobs", headers={"Authorization": "Bearer admin-key"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "unauthorized")
    assert unknown.status_code == 401
    assert (reader.status_code, reader.json()["error"]["code"]) == (403, "forbidden")
    assert admin.status_code == 200
    assert "reader-key" not in reader.text


async def test_a_service_without_keys_says_how_to_configure_them() -> None:
    app = create_app("test", _ready)

    @app.get("/v1/things", dependencies=[Depends(KeyRing("").require("jobs:read"))])
    async def things() -> dict[str, str]:
        return {}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/v1/things", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401
    assert "SHORTLIST_API_KEYS" in response.json()["error"]["message"]
