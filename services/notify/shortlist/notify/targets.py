"""Which URLs may receive webhooks: http(s) only, and no loopback, private or link-local addresses unless allowed."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetNotAllowed(Exception):
    """The URL may not receive webhooks. The message names the reason, never the full URL."""


def _forbidden(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def parse(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL; TargetNotAllowed when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetNotAllowed("the URL cannot be parsed") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetNotAllowed("only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise TargetNotAllowed("the URL has no host")
    return parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


async def _addresses(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetNotAllowed("the host does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check(url: str, allowed_hosts: frozenset[str]) -> None:
    """Raise TargetNotAllowed unless ``url`` may receive webhooks now (its host resolves to public addresses)."""
    host, port = parse(url)
    if host in allowed_hosts:
        return
    addresses = await _addresses(host, port)
    if not addresses or any(_forbidden(a) for a in addresses):
        raise TargetNotAllowed(
            "the host is a loopback, private or link-local address; allow it with SHORTLIST_WEBHOOK_ALLOWED_HOSTS"
        )
