"""Where alert notifications go: one small transport per channel type.

Each transport sends one payload and answers {"ok", "detail"}; it never
raises for a failure of the destination (a dead webhook must not stop the
e-mail). All outbound HTTP goes through `apps.core.http` (deadline, SSRF
guard, bounded retries); Slack goes through the organization's Slack
connection, so its token never leaves the connectors app.

Webhook bodies are signed like Fastn's inbound webhooks:
`x-fastn-signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
with the rule's signing secret.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from apps.activity.models import AlertRule
from apps.connectors.services import ConnectorRunError, connector_call
from apps.connectors.signatures import sign
from apps.core import http

logger = logging.getLogger(__name__)

WEBHOOK_SECONDS = 10.0
SLACK_SECONDS = 15.0
SIGNATURE_HEADER = "x-fastn-signature"


def _summary(payload: dict[str, Any]) -> str:
    alert = payload["alert"]
    value = payload["value"]
    shown = "no data" if value is None else f"{value:.4g}"
    scope = ", ".join(f"{k}={v}" for k, v in payload["scope"].items()) or "whole organization"
    state = {"firing": "FIRING", "resolved": "resolved", "test": "test notification"}.get(payload["state"], "")
    return (
        f"[{state}] {alert['name']}: {alert['metric']} is {shown} "
        f"(threshold {alert['operator']} {payload['threshold']:.4g}, {scope})"
    )


def send_webhook(channel: dict[str, Any], payload: dict[str, Any], *, signing_secret: str) -> dict[str, Any]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"content-type": "application/json", "user-agent": "Fastn-Alerts/1.0"}
    headers.update(sign({"scheme": "stripe", "header": SIGNATURE_HEADER}, signing_secret, body))
    try:
        response = http.request(
            "POST",
            channel["url"],
            content=body,
            headers=headers,
            deadline=time.monotonic() + WEBHOOK_SECONDS,
            allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
            retries=2,
            retry_non_idempotent=True,  # receivers dedupe by alert id, state and time
            max_response_bytes=64 * 1024,
        )
    except http.OutboundError as exc:
        return {"ok": False, "detail": exc.message}
    return {"ok": response.ok, "detail": f"HTTP {response.status}"}


def send_email(channel: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    subject = _summary(payload)[:200]
    text = subject + "\n\n" + json.dumps(payload, indent=2)
    try:
        send_mail(subject, text, None, list(channel["to"]), fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any mail backend failure is this channel's failure
        return {"ok": False, "detail": f"Could not send the e-mail: {exc.__class__.__name__}"}
    return {"ok": True, "detail": f"sent to {len(channel['to'])} address(es)"}


def send_slack(channel: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    from apps.connectors.selectors import connection_get_in_organization

    try:
        connection = connection_get_in_organization(connection_id=channel["connection"])
    except Exception:  # noqa: BLE001
        return {"ok": False, "detail": "The Slack connection no longer exists."}
    try:
        connector_call(
            connector_slug=connection.connector.slug,
            action="postMessage",
            params={"channel": channel["channel"], "text": _summary(payload)},
            customer_id=connection.customer_id,
            deadline=time.monotonic() + SLACK_SECONDS,
            origin="console",
        )
    except ConnectorRunError as exc:
        return {"ok": False, "detail": exc.message[:300]}
    return {"ok": True, "detail": f"posted to {channel['channel']}"}


def send_all(rule: AlertRule, payload: dict[str, Any], *, signing_secret: str) -> list[dict[str, Any]]:
    deliveries = []
    for index, channel in enumerate(rule.channels or []):
        kind = channel.get("type")
        if kind == "webhook":
            result = send_webhook(channel, payload, signing_secret=signing_secret)
        elif kind == "email":
            result = send_email(channel, payload)
        elif kind == "slack":
            result = send_slack(channel, payload)
        else:
            result = {"ok": False, "detail": f"Unknown channel type {kind!r}."}
        if not result["ok"]:
            logger.warning("Alert %s: channel %s (%s) failed: %s", rule.id, index, kind, result["detail"])
        deliveries.append({"channel": index, "type": kind, **result})
    return deliveries
