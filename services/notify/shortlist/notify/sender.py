"""One signed POST to a webhook target, over connections made only to checked addresses.

``SafeResolver`` is aiohttp's resolver: it resolves a host once, checks every address and hands aiohttp
exactly those addresses to connect to, so a DNS answer that changes after the check (rebinding) cannot
reach a loopback, private, link-local or metadata address. Redirects are not followed and at most
``max_body_bytes`` of an answer are read.
"""

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from shortlist.notify import targets
from shortlist.notify.schedule import retry_after

RETRYABLE_STATUS = frozenset({408, 425, 429})
NOT_ALLOWED = "target_not_allowed"


class ForbiddenAddress(OSError):
    """The host resolved to an address webhooks may not reach (aiohttp wraps OSErrors of its resolver)."""


class SafeResolver(AbstractResolver):
    def __init__(self, allowed_hosts: frozenset[str], lookup: targets.Lookup = targets.system_lookup) -> None:
        self._allowed = allowed_hosts
        self._lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            found = await targets.addresses(host.lower(), port, self._allowed, self._lookup)
        except targets.TargetNotAllowed as exc:
            raise ForbiddenAddress(str(exc)) from None
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in found
        ]

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class Sent:
    status_code: int | None
    error: str | None
    latency_seconds: float
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        if self.error == NOT_ALLOWED:
            return False
        if self.status_code is None:
            return True
        return self.status_code >= 500 or self.status_code in RETRYABLE_STATUS

    @property
    def endpoint_failed(self) -> bool:
        """A failure that says the endpoint is unwell (for the breaker); a 4xx refusal does not."""
        return not self.delivered and self.retryable


class Sender:
    def __init__(
        self,
        allowed_hosts: frozenset[str],
        timeout_seconds: float,
        max_body_bytes: int = 65_536,
        lookup: targets.Lookup = targets.system_lookup,
        connections: int = 512,
    ) -> None:
        self._allowed = allowed_hosts
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._max_body = max_body_bytes
        self._lookup = lookup
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=SafeResolver(self._allowed, self._lookup), use_dns_cache=False, limit=self._connections
        )
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=False)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Sent:
        """POST once. Errors are codes (``http_503``, ``timeout``, ``connection_error``), never exception
        texts, which can carry the URL."""
        assert self._session is not None, "start() first"
        started = time.perf_counter()
        try:
            host, _ = targets.parse(url)
            address = targets.literal(host)
            if address is not None and host not in self._allowed and targets.forbidden(address):
                return Sent(None, NOT_ALLOWED, 0.0)
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                await response.content.read(self._max_body)
                status = response.status
                wait = retry_after(response.headers.get("retry-after"))
        except targets.TargetNotAllowed:
            return Sent(None, NOT_ALLOWED, 0.0)
        except TimeoutError:
            return Sent(None, "timeout", time.perf_counter() - started)
        except aiohttp.ClientConnectorError as exc:
            error = NOT_ALLOWED if isinstance(exc.os_error, ForbiddenAddress) else "connection_error"
            return Sent(None, error, time.perf_counter() - started)
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError):
            return Sent(None, "connection_error", time.perf_counter() - started)
        latency = time.perf_counter() - started
        return Sent(status, None if 200 <= status < 300 else f"http_{status}", latency, wait)


def json_headers(extra: dict[str, str]) -> dict[str, Any]:
    return {"content-type": "application/json", **extra}
