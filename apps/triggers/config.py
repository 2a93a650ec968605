"""Checking and normalising a trigger's `config`, per type.

Errors name the field as `config.<name>` (400). Secrets given in the config
(`secret`) are taken out here and stored encrypted by the service; the
normalised config that is stored and returned never holds one.

webhook
    `signing` (bool): verify an HMAC-SHA256 signature. Fastn's own format is
    `X-Fastn-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
    (`signature_header` renames the header); `signature` picks a provider's
    scheme instead (`{"scheme": "github" | "stripe" | "shopify" | "slack" |
    "hmac_sha256", ...}` as in connector definitions). `tolerance_seconds`
    (default 300) bounds the timestamp's age. `secret` sets the secret (a
    provider's, e.g. Stripe's whsec_…); without it one is generated and shown
    once. `ip_allowlist`: CIDRs the sender must come from. `dedup_header`: a
    header carrying the sender's delivery id (Idempotency-Key always counts).
scheduler
    `cron` (5 fields) + `timezone` (IANA, default the organization's), or
    `interval_seconds` (10 s – 31 days). `missed`: `skip` (default) or
    `catch_up_once`. `jitter_seconds` (0 – 3600, at most the interval).
    `fan_out`: absent (the trigger's customer, or the organization), or
    `customers` with `customers: [external_id, ...]`, or
    `connected_customers` with `connector: slug` (every customer connected to
    it when the schedule fires). `input`: a JSON object passed as
    `ctx.input.data`.
app_event
    `connector` (slug), `event_types` (list; empty: all), `secret` (the
    provider's signing secret for this connector, write-only) or
    `secret_source: "oauth_app"` (the organization's OAuth app client secret,
    as Shopify signs with it). Polling connectors: `interval_seconds`
    (default the connector's) and `initial`: `skip_existing` (default: the
    first poll only records what exists) or `include_existing`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from apps.connectors.signatures import SCHEME_DEFAULTS, scheme_settings
from apps.core.errors import InvalidInput
from apps.triggers.schedules import ScheduleError, validate_cron, zone_for

DEFAULT_SIGNATURE_HEADER = "X-Fastn-Signature"
DEFAULT_TOLERANCE_SECONDS = 300
HEADER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_SECRET_LENGTH = 512
MAX_LIST = 1000


@dataclass
class CheckedConfig:
    config: dict[str, Any]
    secret: str | None = None  # given by the caller (to store encrypted)
    wants_generated_secret: bool = False
    notes: list[str] = field(default_factory=list)


def _fail(name: str, message: str) -> InvalidInput:
    return InvalidInput.for_field(f"config.{name}", message)


def _only(config: dict, allowed: set[str]) -> None:
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise _fail(unknown[0], "Unknown field.")


def _bool(config: dict, name: str, default: bool) -> bool:
    value = config.get(name, default)
    if not isinstance(value, bool):
        raise _fail(name, "Must be true or false.")
    return value


def _int(config: dict, name: str, default: int | None, low: int, high: int) -> int | None:
    value = config.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, "Must be an integer.")
    if not low <= value <= high:
        raise _fail(name, f"Must be between {low} and {high}.")
    return value


def _str(config: dict, name: str, *, max_length: int = 255, pattern: re.Pattern | None = None) -> str | None:
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, "Must be a non-empty string.")
    if len(value) > max_length:
        raise _fail(name, f"May be at most {max_length} characters.")
    if pattern is not None and not pattern.match(value):
        raise _fail(name, "Has characters that are not allowed.")
    return value


def _secret(config: dict) -> str | None:
    value = config.get("secret")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) < 8:
        raise _fail("secret", "Must be a string of at least 8 characters.")
    if len(value) > MAX_SECRET_LENGTH:
        raise _fail("secret", f"May be at most {MAX_SECRET_LENGTH} characters.")
    return value


def _string_list(config: dict, name: str, *, max_length: int = 255) -> list[str]:
    value = config.get(name, [])
    if not isinstance(value, list):
        raise _fail(name, "Must be a list of strings.")
    if len(value) > MAX_LIST:
        raise _fail(name, f"May hold at most {MAX_LIST} entries.")
    out: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > max_length:
            raise InvalidInput.for_field(f"config.{name}[{index}]", "Must be a non-empty string.")
        if item not in out:
            out.append(item)
    return out


def check_signature_scheme(value: Any) -> dict:
    if not isinstance(value, dict):
        raise _fail("signature", 'Must be an object such as {"scheme": "github"}.')
    allowed = {"scheme", "header", "timestamp_header", "encoding", "prefix", "payload_format", "tolerance_seconds"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidInput.for_field(f"config.signature.{unknown[0]}", "Unknown field.")
    if value.get("scheme") not in SCHEME_DEFAULTS:
        raise InvalidInput.for_field("config.signature.scheme", f"Must be one of {', '.join(sorted(SCHEME_DEFAULTS))}.")
    for name in ("header", "timestamp_header"):
        if name in value and (not isinstance(value[name], str) or not HEADER_RE.match(value[name])):
            raise InvalidInput.for_field(f"config.signature.{name}", "Must be an HTTP header name.")
    if "encoding" in value and value["encoding"] not in ("hex", "base64"):
        raise InvalidInput.for_field("config.signature.encoding", "Must be hex or base64.")
    for name in ("prefix", "payload_format"):
        if name in value and not isinstance(value[name], str):
            raise InvalidInput.for_field(f"config.signature.{name}", "Must be a string.")
    if "tolerance_seconds" in value:
        tolerance = value["tolerance_seconds"]
        if isinstance(tolerance, bool) or not isinstance(tolerance, int) or not 0 <= tolerance <= 86400:
            raise InvalidInput.for_field("config.signature.tolerance_seconds", "Must be an integer from 0 to 86400.")
    try:
        scheme_settings(value)
    except ValueError as exc:
        raise InvalidInput.for_field("config.signature", str(exc)) from exc
    return dict(value)


def check_webhook(config: dict, *, has_secret: bool) -> CheckedConfig:
    _only(
        config,
        {"signing", "signature", "signature_header", "tolerance_seconds", "secret", "ip_allowlist", "dedup_header"},
    )
    signing = _bool(config, "signing", False)
    out: dict[str, Any] = {"signing": signing}
    secret = _secret(config)
    if "signature" in config and config["signature"] is not None:
        out["signature"] = check_signature_scheme(config["signature"])
        out["signing"] = signing = True
    header = _str(config, "signature_header", max_length=100, pattern=HEADER_RE)
    if header and "signature" in out:
        raise _fail("signature_header", "Set the header inside config.signature for a provider scheme.")
    if signing and "signature" not in out:
        out["signature_header"] = header or DEFAULT_SIGNATURE_HEADER
    out["tolerance_seconds"] = _int(config, "tolerance_seconds", DEFAULT_TOLERANCE_SECONDS, 0, 86400)
    if secret is not None and not signing:
        raise _fail("secret", "A secret only makes sense with signing: true.")
    allowlist = []
    for index, raw in enumerate(_string_list(config, "ip_allowlist", max_length=64)):
        try:
            allowlist.append(str(ipaddress.ip_network(raw.strip(), strict=False)))
        except ValueError:
            raise InvalidInput.for_field(
                f"config.ip_allowlist[{index}]", f"{raw!r} is not an IP address or CIDR."
            ) from None
    if allowlist:
        out["ip_allowlist"] = allowlist
    dedup = _str(config, "dedup_header", max_length=100, pattern=HEADER_RE)
    if dedup:
        out["dedup_header"] = dedup
    return CheckedConfig(out, secret=secret, wants_generated_secret=signing and secret is None and not has_secret)


SCHEDULE_KEYS = {
    "cron",
    "timezone",
    "interval_seconds",
    "missed",
    "jitter_seconds",
    "fan_out",
    "customers",
    "connector",
    "input",
}


def check_scheduler(config: dict, *, default_timezone: str) -> CheckedConfig:
    _only(config, SCHEDULE_KEYS)
    has_cron, has_interval = config.get("cron") is not None, config.get("interval_seconds") is not None
    if has_cron == has_interval:
        raise _fail("cron", "Give either cron (with timezone) or interval_seconds.")
    out: dict[str, Any] = {}
    try:
        if has_cron:
            out["cron"] = validate_cron(config["cron"])
            timezone = config.get("timezone", default_timezone)
            zone_for(timezone)
            out["timezone"] = timezone
        else:
            if "timezone" in config:
                zone_for(config["timezone"])
                out["timezone"] = config["timezone"]
            out["interval_seconds"] = _int(config, "interval_seconds", None, 10, 31 * 86400)
    except ScheduleError as exc:
        raise _fail(exc.field, exc.message) from None
    missed = config.get("missed", "skip")
    if missed not in ("skip", "catch_up_once"):
        raise _fail("missed", "Must be skip or catch_up_once.")
    out["missed"] = missed
    jitter = _int(config, "jitter_seconds", 0, 0, 3600) or 0
    if out.get("interval_seconds") and jitter >= out["interval_seconds"]:
        raise _fail("jitter_seconds", "Must be shorter than the interval.")
    out["jitter_seconds"] = jitter
    fan_out = config.get("fan_out")
    if fan_out is not None:
        if fan_out not in ("customers", "connected_customers"):
            raise _fail("fan_out", "Must be customers or connected_customers.")
        out["fan_out"] = fan_out
        if fan_out == "customers":
            customers = _string_list(config, "customers")
            if not customers:
                raise _fail("customers", "List at least one customer's external_id.")
            out["customers"] = customers
        else:
            connector = _str(config, "connector", max_length=63, pattern=SLUG_RE)
            if not connector:
                raise _fail("connector", "Name the connector whose connected customers the schedule runs for.")
            out["connector"] = connector
    else:
        for name in ("customers", "connector"):
            if name in config:
                raise _fail(name, "Only with fan_out.")
    if "input" in config:
        if not isinstance(config["input"], dict):
            raise _fail("input", "Must be a JSON object.")
        out["input"] = config["input"]
    return CheckedConfig(out)


def check_app_event(config: dict, *, has_secret: bool) -> CheckedConfig:
    _only(config, {"connector", "event_types", "secret", "secret_source", "interval_seconds", "initial"})
    connector = _str(config, "connector", max_length=63, pattern=SLUG_RE)
    if not connector:
        raise _fail("connector", "Name the connector whose events start the workflow.")
    out: dict[str, Any] = {"connector": connector, "event_types": _string_list(config, "event_types", max_length=200)}
    secret = _secret(config)
    source = config.get("secret_source", "trigger")
    if source not in ("trigger", "oauth_app"):
        raise _fail("secret_source", "Must be trigger or oauth_app.")
    if source == "oauth_app" and secret is not None:
        raise _fail("secret", "Leave it out with secret_source oauth_app.")
    out["secret_source"] = source
    interval = _int(config, "interval_seconds", None, 10, 86400)
    if interval is not None:
        out["interval_seconds"] = interval
    initial = config.get("initial", "skip_existing")
    if initial not in ("skip_existing", "include_existing"):
        raise _fail("initial", "Must be skip_existing or include_existing.")
    out["initial"] = initial
    return CheckedConfig(out, secret=secret)
