"""A webhook receiver for tests and bench-notify, run as its own process (aiohttp).

``python -m scripts.webhook_receiver PORT FAIL_RATIO [SEED]``: every POST is verified with the
``standardwebhooks`` reference package against the secret registered for its path, then fails with
probability FAIL_RATIO in one of four ways (500; no answer until the sender times out; the connection closed
unanswered; 429 with ``Retry-After: 1``), else is accepted once per ``webhook-id`` (repeats are answered 200
and counted as duplicates, as a receiver deduplicating by ``webhook-id`` does).

Control: ``POST /_secrets`` ``{"<path>": "<whsec_…>"}``; ``GET /_stats`` → per path: requests, injected
failures, bad signatures, duplicates and ``accepted`` ``{webhook-id: [unix time of acceptance, event_id]}``.
"""

import asyncio
import json
import random
import sys
import time
from collections import defaultdict
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

HANG_SECONDS = 30.0


class State:
    def __init__(self, fail_ratio: float, seed: int) -> None:
        self.fail_ratio = fail_ratio
        self.random = random.Random(seed)
        self.verifiers: dict[str, Webhook] = {}
        self.stats: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"requests": 0, "injected": 0, "bad_signatures": 0, "duplicates": 0, "accepted": {}}
        )


async def secrets(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    for path, secret in (await request.json()).items():
        state.verifiers[path] = Webhook(secret)
    return web.json_response({"ok": True})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app["state"].stats)


async def hook(request: web.Request) -> web.StreamResponse:
    state: State = request.app["state"]
    body = await request.read()
    path = request.path
    counts = state.stats[path]
    counts["requests"] += 1
    if state.random.random() < state.fail_ratio:
        counts["injected"] += 1
        way = state.random.randrange(4)
        if way == 0:
            return web.Response(status=500)
        if way == 1:
            await asyncio.sleep(HANG_SECONDS)
            return web.Response(status=500)
        if way == 2:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        return web.Response(status=429, headers={"Retry-After": "1"})
    verifier = state.verifiers.get(path)
    try:
        if verifier is None:
            raise WebhookVerificationError("no secret registered for the path")
        payload = verifier.verify(body, dict(request.headers))
    except WebhookVerificationError:
        counts["bad_signatures"] += 1
        return web.Response(status=401)
    webhook_id = request.headers["webhook-id"]
    if webhook_id in counts["accepted"]:
        counts["duplicates"] += 1
    else:
        counts["accepted"][webhook_id] = [time.time(), payload.get("event_id", "")]
    return web.Response(status=200)


def main() -> None:
    port = int(sys.argv[1])
    fail_ratio = float(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    app = web.Application(client_max_size=1 << 20)
    app["state"] = State(fail_ratio, seed)
    app.router.add_post("/_secrets", secrets)
    app.router.add_get("/_stats", stats)
    app.router.add_post("/{path:.*}", hook)
    print(json.dumps({"listening": port}), flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
