"""Which URLs may receive webhooks: http(s) only, and no loopback, private or link-local addresses unless allowed.

The allow-list names hosts as the URL writes them (a name or an address literal); a name that is not on it
is checked by the addresses it resolves to, at subscription time and again at every connection
(``sender.SafeResolver`` connects to the very addresses it checked).
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Lookup = Callable[[str, int], Awaitable[list[IpAddress]]]
"""Resolves a host name to addresses (the system resolver by default; tests pass a stub)."""

NOT_ALLOWED = "the host is a loopback, private or link-local address; allow it with SHORTLIST_WEBHOOK_ALLOWED_HOSTS"


class TargetNotAllowed(Exception):
    """The URL may not receive webhooks. The message names the reason, never the full URL."""


def forbidden(address: IpAddress) -> bool:
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


def literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def system_lookup(host: str, port: int) -> list[IpAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def addresses(
    host: str, port: int, allowed_hosts: frozenset[str], lookup: Lookup = system_lookup
) -> list[IpAddress]:
    """The addresses to connect to for ``host``; TargetNotAllowed when any is forbidden and the host is not allowed."""
    found = literal(host)
    if found is not None:
        resolved = [found]
    else:
        try:
            resolved = await lookup(host, port)
        except OSError as exc:
            raise TargetNotAllowed("the host does not resolve") from exc
    if host in allowed_hosts:
        return resolved
    if not resolved or any(forbidden(a) for a in resolved):
        raise TargetNotAllowed(NOT_ALLOWED)
    return resolved


async def check(url: str, allowed_hosts: frozenset[str], lookup: Lookup = system_lookup) -> None:
    """Raise TargetNotAllowed unless ``url`` may receive webhooks now (its host resolves to public addresses)."""
    host, port = parse(url)
    if host in allowed_hosts:
        return
    await addresses(host, port, allowed_hosts, lookup)
