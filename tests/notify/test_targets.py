import pytest

from shortlist.notify.targets import TargetNotAllowed, check

NONE: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_loopback_private_and_link_local_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetNotAllowed, match="SHORTLIST_WEBHOOK_ALLOWED_HOSTS"):
        await check(url, NONE)


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "not a url", "http:///path"])
async def test_only_http_and_https_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(TargetNotAllowed):
        await check(url, NONE)


async def test_allow_listed_hosts_are_accepted() -> None:
    allowed = frozenset({"127.0.0.1", "localhost", "::1"})
    await check("http://127.0.0.1:9000/hook", allowed)
    await check("http://LOCALHOST/hook", allowed)
    await check("http://[::1]:9000/hook", allowed)
    with pytest.raises(TargetNotAllowed):
        await check("http://10.0.0.1/hook", allowed)


async def test_public_addresses_are_accepted() -> None:
    await check("https://93.184.216.34/hook", NONE)
    await check("http://[2606:2800:220:1:248:1893:25c8:1946]/hook", NONE)
