"""Webhook signature verification for each scheme: good, bad, stale, missing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from apps.connectors.catalog import get_connector
from apps.connectors.exceptions import SignatureError
from apps.connectors.signatures import sign, verify_signature

NOW = 1_700_000_000
BODY = b'{"id":"evt_1","type":"customer.created","data":{"object":{"id":"cus_1"}}}'
SECRET = "whsec_test_secret_123"


def reason(
    config: dict[str, Any], headers: dict[str, str], body: bytes = BODY, now: float = NOW, secret: str = SECRET
) -> str:
    with pytest.raises(SignatureError) as caught:
        verify_signature(config, secret, headers, body, now)
    assert SECRET not in str(caught.value)
    return caught.value.reason


# --------------------------------------------------------------------------
# Known vectors from the providers' documentation
# --------------------------------------------------------------------------


def test_github_documented_example_verifies() -> None:
    headers = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    verify_signature({"scheme": "github"}, "It's a Secret to Everybody", headers, b"Hello, World!")


def test_slack_documented_example_verifies() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    verify_signature({"scheme": "slack"}, "8f742231b10e8888abcd99yyyzzz85a5", headers, body, now=1531420618 + 10)


# --------------------------------------------------------------------------
# Each scheme: good, bad, stale, missing
# --------------------------------------------------------------------------


def test_github_good_bad_missing() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    verify_signature({"scheme": "github"}, SECRET, {"x-hub-signature-256": f"sha256={digest}"}, BODY)
    verify_signature({"scheme": "github"}, SECRET, {"X-Hub-Signature-256": f"sha256={digest.upper()}"}, BODY)
    assert (
        reason({"scheme": "github"}, {"X-Hub-Signature-256": f"sha256={digest}"}, body=BODY + b" ") == "bad_signature"
    )
    assert reason({"scheme": "github"}, {"X-Hub-Signature-256": digest}) == "malformed_header"
    assert reason({"scheme": "github"}, {}) == "missing_header"


def test_stripe_good_bad_stale_and_rotated_secrets() -> None:
    config = {"scheme": "stripe"}
    good = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    verify_signature(config, SECRET, {"Stripe-Signature": f"t={NOW},v1={good}"}, BODY, NOW + 60)
    # While a secret is rolled, Stripe sends one v1 per secret.
    verify_signature(config, SECRET, {"Stripe-Signature": f"t={NOW},v1={'0' * 64},v1={good},v0=ignored"}, BODY, NOW)
    assert reason(config, {"Stripe-Signature": f"t={NOW},v1={'0' * 64}"}) == "bad_signature"
    assert reason(config, {"Stripe-Signature": f"t={NOW},v1={good}"}, now=NOW + 301) == "stale_timestamp"
    assert reason(config, {"Stripe-Signature": f"v1={good}"}) == "malformed_header"
    assert reason(config, {}) == "missing_header"
    # A longer tolerance is honoured.
    verify_signature(
        {"scheme": "stripe", "tolerance_seconds": 600},
        SECRET,
        {"Stripe-Signature": f"t={NOW},v1={good}"},
        BODY,
        NOW + 500,
    )


def test_shopify_good_bad_missing() -> None:
    digest = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()
    verify_signature({"scheme": "shopify"}, SECRET, {"X-Shopify-Hmac-Sha256": digest}, BODY)
    assert reason({"scheme": "shopify"}, {"X-Shopify-Hmac-Sha256": digest.lower()}) == "bad_signature"
    assert reason({"scheme": "shopify"}, {"X-Shopify-Hmac-Sha256": ""}) == "missing_header"


def test_slack_good_bad_stale_missing() -> None:
    config = {"scheme": "slack"}
    headers = sign(config, SECRET, BODY, timestamp=NOW)
    verify_signature(config, SECRET, headers, BODY, NOW + 5)
    assert reason(config, headers, body=b"{}") == "bad_signature"
    assert reason(config, headers, now=NOW + 301) == "stale_timestamp"
    assert reason(config, headers, now=NOW - 301) == "stale_timestamp"
    assert reason(config, {"X-Slack-Signature": headers["X-Slack-Signature"]}) == "missing_header"


def test_generic_hmac_hex_with_prefix() -> None:
    config = {"scheme": "hmac_sha256", "header": "X-Signature", "prefix": "sha256="}
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    verify_signature(config, SECRET, {"X-Signature": f"sha256={digest}"}, BODY)
    assert reason(config, {"X-Signature": f"sha256={digest[:-1]}0"}) in ("bad_signature",)
    assert reason(config, {"X-Other": digest}) == "missing_header"


def test_generic_hmac_base64_with_timestamp_and_custom_payload() -> None:
    config = {
        "scheme": "hmac_sha256",
        "header": "X-Zendesk-Webhook-Signature",
        "timestamp_header": "X-Zendesk-Webhook-Signature-Timestamp",
        "payload_format": "{timestamp}{body}",
        "encoding": "base64",
    }
    stamp = "2023-11-14T22:13:20Z"  # NOW as ISO 8601
    digest = base64.b64encode(hmac.new(SECRET.encode(), stamp.encode() + BODY, hashlib.sha256).digest()).decode()
    headers = {"X-Zendesk-Webhook-Signature": digest, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    verify_signature(config, SECRET, headers, BODY, NOW + 10)
    assert reason(config, headers, now=NOW + 3600) == "stale_timestamp"
    assert (
        reason(config, {**headers, "X-Zendesk-Webhook-Signature-Timestamp": "2023-11-14T22:13:21Z"}) == "bad_signature"
    )
    assert reason(config, {**headers, "X-Zendesk-Webhook-Signature-Timestamp": "yesterday"}, now=NOW) in (
        "bad_signature",
        "malformed_header",
    )


def test_sign_and_verify_round_trip_for_every_scheme() -> None:
    for config in (
        {"scheme": "github"},
        {"scheme": "stripe"},
        {"scheme": "shopify"},
        {"scheme": "slack"},
        {"scheme": "hmac_sha256", "header": "X-Sig", "encoding": "base64", "timestamp_header": "X-Ts"},
        {"scheme": "stripe", "header": "Calendly-Webhook-Signature"},
    ):
        headers = sign(config, SECRET, BODY, timestamp=NOW)
        verify_signature(config, SECRET, headers, BODY, NOW)
        with pytest.raises(SignatureError):
            verify_signature(config, "another-secret", headers, BODY, NOW)


def test_non_utf8_bodies_are_verified_as_bytes() -> None:
    body = b"\xff\xfe binary \x00"
    config = {"scheme": "hmac_sha256", "header": "X-Sig", "timestamp_header": "X-Ts"}
    headers = sign(config, SECRET, body, timestamp=NOW)
    verify_signature(config, SECRET, headers, body, NOW)


def test_a_secret_is_required_and_unknown_schemes_are_refused() -> None:
    with pytest.raises(ValueError):
        verify_signature({"scheme": "github"}, "", {"X-Hub-Signature-256": "sha256=00"}, BODY)
    with pytest.raises(ValueError):
        verify_signature({"scheme": "md5"}, SECRET, {}, BODY)


@pytest.mark.parametrize(
    "slug", ["github", "stripe", "shopify", "slack", "zendesk", "linear", "typeform", "box", "calendly"]
)
def test_catalogue_signature_configs_round_trip(slug: str) -> None:
    definition = get_connector(slug)
    assert definition is not None
    config = definition["events"]["webhook"]["signature"]
    headers = sign(config, SECRET, BODY, timestamp=NOW)
    verify_signature(config, SECRET, headers, BODY, NOW)
