import base64
import time
from collections.abc import Callable

import pytest

from shortlist.notify.signing import SignatureError, generate_secret, secret_key, signature_headers, verify

Tamper = Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]]

BODY = b'{"type":"cv.scored","score":81.5}'


def test_generated_secret_is_whsec_base64_of_24_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert generate_secret() != secret


def test_receiver_accepts_a_signed_body() -> None:
    secret = generate_secret()
    headers = signature_headers(secret, "msg_1", BODY)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-signature"].startswith("v1,")
    assert verify(secret, headers, BODY)
    assert verify(secret, {k.title(): v for k, v in headers.items()}, BODY)


def test_signature_matches_the_standard_webhooks_reference_vector() -> None:
    # Test vector of the Standard Webhooks reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = signature_headers(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}', 1614265330)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize(
    "change",
    [
        lambda h, b: (h, b.replace(b"81.5", b"99.5")),
        lambda h, b: ({**h, "webhook-id": "msg_2"}, b),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
    ],
    ids=["body", "id", "timestamp", "missing-signature"],
)
def test_receiver_rejects_a_tampered_webhook(change: Tamper) -> None:
    secret = generate_secret()
    headers, body = change(signature_headers(secret, "msg_1", BODY), BODY)
    with pytest.raises(SignatureError):
        verify(secret, headers, body)


def test_receiver_rejects_another_secret_and_stale_timestamps() -> None:
    secret = generate_secret()
    headers = signature_headers(secret, "msg_1", BODY)
    with pytest.raises(SignatureError):
        verify(generate_secret(), headers, BODY)
    old = signature_headers(secret, "msg_1", BODY, timestamp=int(time.time()) - 3600)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(secret, old, BODY)


def test_one_of_several_signatures_may_match() -> None:
    secret = generate_secret()
    headers = signature_headers(secret, "msg_1", BODY)
    rotated = {**headers, "webhook-signature": f"v1,bm90IHRoaXMgb25l {headers['webhook-signature']}"}
    verify(secret, rotated, BODY)


@pytest.mark.parametrize("bad", ["plain-secret", "whsec_not*base64", "whsec_" + base64.b64encode(b"short").decode()])
def test_secrets_that_are_not_whsec_base64_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        secret_key(bad)
