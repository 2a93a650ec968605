"""Webhook signature verification for the schemes connector events declare.

Schemes (``events.webhook.signature.scheme`` in a definition):

``github``
    ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``.
``stripe``
    ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=...]``,
    with a timestamp tolerance (default 300 s). Calendly uses the same format
    under another header name.
``shopify``
    ``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>``.
``slack``
    ``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>`` and
    ``X-Slack-Request-Timestamp``, tolerance 300 s. Zoom uses the same scheme
    under other header names.
``hmac_sha256``
    Generic: ``header`` (required), ``encoding`` hex|base64, ``prefix``
    (e.g. ``sha256=``), and optionally ``timestamp_header`` with
    ``payload_format`` (default ``{timestamp}.{body}``; ``{body}`` without a
    timestamp header) and ``tolerance_seconds``.

Every comparison is constant-time. The secret is never part of an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from apps.connectors.exceptions import SignatureError

__all__ = ["SCHEME_DEFAULTS", "scheme_settings", "sign", "verify_signature"]

SCHEME_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "github": {"header": "X-Hub-Signature-256", "encoding": "hex", "prefix": "sha256="},
    "stripe": {"header": "Stripe-Signature", "tolerance_seconds": 300},
    "shopify": {"header": "X-Shopify-Hmac-Sha256", "encoding": "base64", "prefix": ""},
    "slack": {
        "header": "X-Slack-Signature",
        "timestamp_header": "X-Slack-Request-Timestamp",
        "prefix": "v0=",
        "tolerance_seconds": 300,
    },
    "hmac_sha256": {"encoding": "hex", "prefix": "", "tolerance_seconds": 300},
}


def scheme_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The signature config with the scheme's defaults filled in."""
    scheme = config.get("scheme")
    if scheme not in SCHEME_DEFAULTS:
        raise ValueError(f"Unknown signature scheme {scheme!r}")
    settings = {**SCHEME_DEFAULTS[scheme], **{k: v for k, v in config.items() if v is not None}}
    if scheme == "hmac_sha256" and "header" not in settings:
        raise ValueError("The hmac_sha256 scheme needs a header name")
    if scheme == "hmac_sha256" and "payload_format" not in settings:
        settings["payload_format"] = "{timestamp}.{body}" if settings.get("timestamp_header") else "{body}"
    return settings


def _key(secret: str | bytes) -> bytes:
    if not secret:
        raise ValueError("A signing secret is required")
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _digest(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def _encode(digest: bytes, encoding: str) -> str:
    return base64.b64encode(digest).decode("ascii") if encoding == "base64" else digest.hex()


def _same(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), provided.encode("utf-8", errors="replace"))


def _signed_payload(payload_format: str, timestamp: str, body: bytes) -> bytes:
    # The body is spliced in as bytes: it need not be UTF-8, and formatting
    # it as text would change what was signed.
    pieces = payload_format.split("{body}")
    encoded = [piece.replace("{timestamp}", timestamp).encode("utf-8") for piece in pieces]
    return body.join(encoded)


def _parse_timestamp(value: str) -> float:
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise SignatureError("malformed_header", "The signature timestamp is not a time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return number / 1000 if number > 1e12 else number  # milliseconds from some senders


def _check_fresh(timestamp: str, tolerance: int, now: float) -> None:
    if tolerance and abs(now - _parse_timestamp(timestamp)) > tolerance:
        raise SignatureError("stale_timestamp", f"The signature timestamp is more than {tolerance} s away from now")


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get(name.lower())
    if value is None or not str(value).strip():
        raise SignatureError("missing_header", f"The {name} header is missing")
    return str(value).strip()


def verify_signature(
    scheme_config: Mapping[str, Any],
    secret: str | bytes,
    headers: Mapping[str, str],
    raw_body: bytes,
    now: float | None = None,
) -> None:
    """Return if the webhook's signature holds; raise :class:`SignatureError` if not.

    ``raw_body`` must be the bytes as received (not re-serialised JSON).
    ``now`` is epoch seconds (default: the current time).
    """
    settings = scheme_settings(scheme_config)
    key = _key(secret)
    current = time.time() if now is None else now
    scheme = settings["scheme"]

    if scheme == "stripe":
        _verify_stripe(settings, key, headers, raw_body, current)
        return

    provided = _header(headers, settings["header"])
    prefix = settings.get("prefix", "")
    if prefix and not provided.startswith(prefix):
        raise SignatureError("malformed_header", f"The {settings['header']} header does not start with {prefix!r}")
    provided = provided[len(prefix) :]

    timestamp = None
    if settings.get("timestamp_header"):
        timestamp = _header(headers, settings["timestamp_header"])

    if scheme == "slack":
        assert timestamp is not None
        payload = b"v0:" + timestamp.encode("utf-8") + b":" + raw_body
    elif scheme == "hmac_sha256":
        payload = _signed_payload(settings["payload_format"], timestamp or "", raw_body)
    else:  # github, shopify
        payload = raw_body

    encoding = settings.get("encoding", "hex")
    expected = _encode(_digest(key, payload), encoding)
    matches = _same(expected, provided.lower()) if encoding == "hex" else _same(expected, provided)
    if not matches:
        raise SignatureError("bad_signature", "The webhook signature does not match")
    if timestamp is not None:
        _check_fresh(timestamp, int(settings.get("tolerance_seconds", 0)), current)


def _verify_stripe(
    settings: Mapping[str, Any], key: bytes, headers: Mapping[str, str], raw_body: bytes, now: float
) -> None:
    header = settings["header"]
    value = _header(headers, header)
    timestamp: str | None = None
    signatures: list[str] = []
    for item in value.split(","):
        name, _, part = item.strip().partition("=")
        if name == "t":
            timestamp = part
        elif name == "v1":
            signatures.append(part.strip().lower())
    if not timestamp or not signatures:
        raise SignatureError("malformed_header", f"The {header} header has no t= timestamp or no v1= signature")
    expected = _digest(key, timestamp.encode("utf-8") + b"." + raw_body).hex()
    # Compare against every v1 (several are sent while a secret is rolled),
    # without stopping at the first match so timing says nothing.
    matched = False
    for candidate in signatures:
        matched |= _same(expected, candidate)
    if not matched:
        raise SignatureError("bad_signature", "The webhook signature does not match")
    _check_fresh(timestamp, int(settings.get("tolerance_seconds", 0)), now)


def sign(
    scheme_config: Mapping[str, Any],
    secret: str | bytes,
    raw_body: bytes,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers a sender using this scheme would add (for Fastn's own
    outgoing webhooks, and for tests). ``timestamp`` defaults to now."""
    settings = scheme_settings(scheme_config)
    key = _key(secret)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    scheme = settings["scheme"]
    if scheme == "stripe":
        signature = _digest(key, ts.encode("utf-8") + b"." + raw_body).hex()
        return {settings["header"]: f"t={ts},v1={signature}"}
    headers: dict[str, str] = {}
    if scheme == "slack":
        payload = b"v0:" + ts.encode("utf-8") + b":" + raw_body
        headers[settings["timestamp_header"]] = ts
    elif scheme == "hmac_sha256":
        payload = _signed_payload(settings["payload_format"], ts, raw_body)
        if settings.get("timestamp_header"):
            headers[settings["timestamp_header"]] = ts
    else:
        payload = raw_body
    encoded = _encode(_digest(key, payload), settings.get("encoding", "hex"))
    headers[settings["header"]] = settings.get("prefix", "") + encoded
    return headers
