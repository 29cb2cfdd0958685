"""API keys with scopes, shared by every service's /v1 endpoints.

``SHORTLIST_API_KEYS`` lists the keys: entries separated by commas, each ``<key>`` (every scope) or
``<key>:<scope> <scope> ...``. Clients send ``Authorization: Bearer <key>``.
"""

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from shortlist.runtime.http import ApiError

ALL_SCOPES = "*"


@dataclass(frozen=True)
class ApiKey:
    digest: bytes
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_api_keys(spec: str) -> list[ApiKey]:
    keys = []
    for entry in filter(None, (e.strip() for e in spec.split(","))):
        key, _, scopes = entry.partition(":")
        keys.append(ApiKey(_digest(key.strip()), frozenset(scopes.split()) or frozenset({ALL_SCOPES})))
    return keys


class KeyRing:
    def __init__(self, spec: str) -> None:
        self._keys = parse_api_keys(spec)

    def find(self, presented: str) -> ApiKey | None:
        digest = _digest(presented)
        return next((k for k in self._keys if hmac.compare_digest(k.digest, digest)), None)

    def require(self, scope: str) -> Callable[[Request], Coroutine[Any, Any, None]]:
        """A FastAPI dependency: 401 without a known key, 403 when the key lacks ``scope``."""

        async def check(request: Request) -> None:
            if not self._keys:
                raise ApiError(
                    401, "unauthorized", "no API keys are configured on this service; set SHORTLIST_API_KEYS"
                )
            header = request.headers.get("authorization", "")
            scheme, _, presented = header.partition(" ")
            if scheme.lower() != "bearer" or not presented.strip():
                raise ApiError(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'")
            key = self.find(presented.strip())
            if key is None:
                raise ApiError(401, "unauthorized", "the API key is not known")
            if not key.allows(scope):
                raise ApiError(403, "forbidden", f"the API key lacks the scope '{scope}'")

        return check
