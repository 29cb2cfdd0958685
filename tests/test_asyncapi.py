"""The AsyncAPI document: committed and served copies are what the generator makes now, every topic is in it,
and its publisher/consumer table matches the consumers the services register."""

import json
import re
import sys
from pathlib import Path

import httpx

from shortlist.runtime import topics
from shortlist.runtime.http import create_app
from shortlist.runtime.topics import ALL_TOPICS, MAIN_TOPICS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.gen_asyncapi import CONSUMERS, OUTPUTS, SERVICES, render  # noqa: E402


def test_the_committed_documents_are_not_stale() -> None:
    fresh = render()
    stale = [str(p.relative_to(ROOT)) for p in OUTPUTS if p.read_text() != fresh]
    assert not stale, f"run `make asyncapi`: {', '.join(stale)} is stale"


def test_every_topic_is_a_channel_with_its_key_headers_and_schema() -> None:
    document = json.loads(render())
    assert document["asyncapi"].startswith("3.")
    assert sorted(c["address"] for c in document["channels"].values()) == sorted(ALL_TOPICS)
    scored = document["channels"]["cv_scored_v1"]
    assert scored["x-key"] == "application_id" and "notify" in scored["x-consumers"]
    message = document["components"]["messages"]["CvScored"]
    assert message["headers"]["properties"]["ce_type"] == {"const": "shortlist.cv.scored.v1"}
    schema = document["components"]["schemas"]["CvScored"]
    assert schema["properties"]["score"]["x-protobuf-field"] == 5
    assert schema["properties"]["requirements"]["items"] == {"$ref": "#/components/schemas/RequirementScore"}
    assert document["channels"]["candidates_erased_v1"]["x-key"] == "candidate_id"


def _constants(source: str) -> set[str]:
    return {getattr(topics, name) for name in re.findall(r"\b([A-Z_]+):", source) if hasattr(topics, name)}


def test_the_consumer_table_matches_the_services_code() -> None:
    for service in SERVICES:
        package = ROOT / "services" / service / "shortlist" / service
        consumed = set()
        for line in (package / "app.py").read_text().splitlines():
            if ".consume(" in line:
                consumed |= _constants(line)
        if service == "ingest":
            routes = (package / "handlers.py").read_text().split("def routes", 1)[1].split("\n\n", 1)[0]
            consumed |= _constants(routes)
        declared = {t for t in MAIN_TOPICS if service in CONSUMERS[t]}
        assert consumed == declared, service


async def test_every_service_serves_the_document() -> None:
    async def ready() -> None:
        return None

    app = create_app("any", ready)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == json.loads(render())
