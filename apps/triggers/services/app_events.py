"""App events: a connector's events, delivered by its webhooks or found by polling.

Webhooks arrive at the organization's URL `/hooks/app/{token}/{connector}`.
What a provider's delivery looks like is data in the connector definition
(`events.webhook`): the signature scheme, where the event type is
(`event_type_path` / `event_type_header`), what names the account
(`customer_key_path` / `customer_key_header`) and the delivery id
(`delivery_id_header` / `delivery_id_path`).

Where the secret comes from: each app-event trigger holds the provider's
signing secret for that connector (`config.secret`, stored encrypted) — the
value the provider shows when the organization registers the URL (GitHub's
webhook secret, Stripe's whsec_…, Slack's signing secret) — or names the
organization's OAuth app (`secret_source: oauth_app`, for Shopify, which
signs with the app's client secret). A delivery is accepted for the
triggers whose secret verifies it.

Routing: the account key read from the delivery is compared with
`Connection.account_key` of the connector's live connections; the
connection's customer is the run's customer. A trigger with a customer only
takes that customer's deliveries. A connector that names no account key runs
its events for the organization.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.connectors.exceptions import SignatureError
from apps.connectors.models import CallTrace, Connection
from apps.connectors.signatures import verify_signature
from apps.connectors.templating import get_path
from apps.core import crypto
from apps.triggers.exceptions import HookNotFound, SignatureRejected
from apps.triggers.models import Event, PollCursor, Trigger
from apps.triggers.services.events import Dispatched, Incoming, event_accept

logger = logging.getLogger(__name__)

MAX_SEEN_IDS = 1000
POLL_SECONDS = 30.0
DEFAULT_POLL_INTERVAL = 300


def _header(headers: dict[str, str], name: str | None) -> str:
    if not name:
        return ""
    return str(headers.get(name.lower(), "")).strip()


def _path_text(payload: Any, path: str | None) -> str:
    if not path:
        return ""
    value = get_path(payload, path)
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


def _secret_for(trigger: Trigger) -> str | None:
    if (trigger.config or {}).get("secret_source") == "oauth_app":
        from apps.connectors.services.oauth_apps import oauth_client_for

        client = oauth_client_for(connector_slug=trigger.connector_slug)
        return client.client_secret if client else None
    return crypto.decrypt(trigger.secret_ciphertext) if trigger.secret_ciphertext else None


@dataclass
class AppDelivery:
    connector: str
    event_type: str
    delivery_id: str
    account_key: str
    accepted: list[tuple[Event, Dispatched | None, bool]] = field(default_factory=list)
    ignored: str = ""
    challenge: str | None = None  # a handshake to echo (Slack's url_verification)


def _webhook_spec(connector_slug: str) -> dict:
    from apps.connectors.services.calls import connector_load

    loaded = connector_load(slug=connector_slug)
    webhook = ((loaded.definition.get("events") or {}).get("webhook") if loaded else None) or None
    if loaded is None or not loaded.enabled or webhook is None:
        raise HookNotFound(f"This organization takes no webhook events of {connector_slug!r}.")
    return webhook


def app_event_receive(
    *, connector_slug: str, raw_body: bytes, payload: Any, headers: dict[str, str], source_ip: str | None
) -> AppDelivery:
    """Verify, route and accept one provider delivery (raises HookNotFound,
    SignatureRejected; QuotaExceeded after recording the event as rejected)."""
    webhook = _webhook_spec(connector_slug)
    triggers = list(
        Trigger.objects.filter(type=Trigger.Type.APP_EVENT, connector_slug=connector_slug, enabled=True)
        .select_related("workflow", "customer")
        .order_by("created_at")
    )
    if not triggers:
        raise HookNotFound(f"No enabled app-event trigger listens to {connector_slug!r} events.")
    verified = _verified_triggers(webhook.get("signature"), triggers, headers, raw_body)
    if (
        isinstance(payload, dict)
        and payload.get("type") == "url_verification"
        and isinstance(payload.get("challenge"), str)
    ):
        # Slack checks a new Request URL with a signed challenge to echo; it is no event.
        return AppDelivery(connector_slug, "url_verification", "", "", challenge=payload["challenge"])

    delivery = AppDelivery(
        connector=connector_slug,
        event_type=_header(headers, webhook.get("event_type_header"))
        or _path_text(payload, webhook.get("event_type_path")),
        delivery_id=_header(headers, webhook.get("delivery_id_header"))
        or _path_text(payload, webhook.get("delivery_id_path")),
        account_key=_header(headers, webhook.get("customer_key_header"))
        or _path_text(payload, webhook.get("customer_key_path")),
    )
    delivery.delivery_id = delivery.delivery_id or _header(headers, "idempotency-key")
    routes_by_account = bool(webhook.get("customer_key_header") or webhook.get("customer_key_path"))
    customer, routed = None, not routes_by_account
    if routes_by_account and delivery.account_key:
        connection = (
            Connection.objects.select_related("customer")
            .filter(connector__slug=connector_slug, account_key=delivery.account_key)
            .exclude(status=Connection.Status.REVOKED)
            .first()
        )
        if connection is not None:
            customer, routed = connection.customer, True
    wanted = [
        t
        for t in verified
        if (not t.config.get("event_types") or delivery.event_type in t.config["event_types"])
        and (t.customer_id is None or (routed and customer is not None and t.customer_id == customer.id))
    ]
    if not routed:
        delivery.ignored = (
            f"No connection to {connector_slug} has the account key {delivery.account_key!r}: "
            "set account_key on the customer's connection."
            if delivery.account_key
            else "The delivery names no account."
        )
        wanted = []
    elif not wanted:
        delivery.ignored = f"No trigger takes {delivery.event_type or 'untyped'} events of this account."
    for trigger in wanted:
        delivery.accepted.append(
            event_accept(
                incoming=Incoming(
                    type=Event.Type.APP_EVENT,
                    trigger=trigger,
                    payload=payload,
                    headers=headers,
                    source=f"app:{connector_slug}",
                    source_ip=source_ip,
                    event_type=delivery.event_type,
                    dedup_key=f"delivery:{delivery.delivery_id}" if delivery.delivery_id else "",
                    customer=customer,
                )
            )
        )
    return delivery


def _verified_triggers(
    signature: dict | None, triggers: list[Trigger], headers: dict[str, str], raw_body: bytes
) -> list[Trigger]:
    if not signature:
        return triggers
    verified: list[Trigger] = []
    outcomes: dict[str, SignatureError | None] = {}
    for trigger in triggers:
        secret = _secret_for(trigger)
        if not secret:
            continue
        if secret not in outcomes:
            try:
                verify_signature(signature, secret, headers, raw_body)
                outcomes[secret] = None
            except SignatureError as exc:
                outcomes[secret] = exc
            except ValueError as exc:  # a definition the schema let through but the verifier refuses
                outcomes[secret] = SignatureError("malformed_header", str(exc))
        if outcomes[secret] is None:
            verified.append(trigger)
    if verified:
        return verified
    errors = [e for e in outcomes.values() if e is not None]
    reason = errors[0] if errors else None
    raise SignatureRejected(
        reason.message if reason else "No secret is configured to verify these deliveries.",
        details={"reason": reason.reason if reason else "no_secret"},
    )


# --- polling ---------------------------------------------------------------------------------


def _polling_spec(connector_slug: str) -> dict | None:
    from apps.connectors.services.calls import connector_load

    loaded = connector_load(slug=connector_slug)
    if loaded is None or not loaded.enabled:
        return None
    return (loaded.definition.get("events") or {}).get("polling")


def _connections_for(trigger: Trigger) -> list[Connection]:
    queryset = (
        Connection.objects.filter(connector__slug=trigger.connector_slug)
        .exclude(status__in=[Connection.Status.REVOKED, Connection.Status.NEEDS_REAUTH])
        .select_related("customer")
    )
    if trigger.customer_id:
        queryset = queryset.filter(customer_id=trigger.customer_id)
    return list(queryset.order_by("created_at"))


def polls_run(*, now=None) -> dict[str, int]:
    """Poll every due (trigger, connection) of the current organization once."""
    now = now or timezone.now()
    counts = {"polled": 0, "new": 0, "errors": 0}
    triggers = Trigger.objects.filter(type=Trigger.Type.APP_EVENT, enabled=True).select_related("workflow", "customer")
    for trigger in triggers:
        spec = _polling_spec(trigger.connector_slug)
        if spec is None:
            continue
        interval = int(trigger.config.get("interval_seconds") or spec.get("interval_seconds") or DEFAULT_POLL_INTERVAL)
        for connection in _connections_for(trigger):
            cursor, _ = PollCursor.objects.get_or_create(
                trigger=trigger, connection_id=connection.id, defaults={"customer": connection.customer}
            )
            claimed = (
                PollCursor.objects.filter(pk=cursor.pk, next_poll_at=cursor.next_poll_at)
                .filter(**({"next_poll_at__lte": now} if cursor.next_poll_at else {}))
                .update(next_poll_at=now + timedelta(seconds=interval), last_polled_at=now)
            )
            if not claimed:
                continue
            counts["polled"] += 1
            try:
                counts["new"] += poll_once(trigger=trigger, spec=spec, connection=connection, cursor_id=cursor.pk)
            except Exception as exc:  # noqa: BLE001 - one connection must not stop the others
                counts["errors"] += 1
                logger.warning("Polling %s for trigger %s failed: %s", connection.id, trigger.id, exc)
                PollCursor.objects.filter(pk=cursor.pk).update(last_error=str(exc)[:1000])
    return counts


def poll_once(*, trigger: Trigger, spec: dict, connection: Connection, cursor_id: int) -> int:
    """Call the connector's list action, accept the records not seen before. Returns how many."""
    from apps.connectors.services.calls import ConnectorRunError, connector_call

    cursor = PollCursor.objects.get(pk=cursor_id)
    params: dict[str, Any] = {}
    if spec.get("cursor_param") and cursor.cursor is not None:
        params[spec["cursor_param"]] = cursor.cursor
    try:
        result = connector_call(
            connector_slug=trigger.connector_slug,
            action=spec["action"],
            params=params,
            customer_id=connection.customer_id,
            deadline=time.monotonic() + POLL_SECONDS,
            origin=CallTrace.Origin.POLL,
        )
    except ConnectorRunError as exc:
        PollCursor.objects.filter(pk=cursor_id).update(last_error=exc.message[:1000])
        raise
    items = get_path(result.value, spec.get("items_path")) if spec.get("items_path") else result.value
    if not isinstance(items, list):
        items = []
    seen = list(cursor.seen_ids or [])
    seen_set = set(seen)
    fresh: list[tuple[str, Any]] = []
    for item in items:
        record_id = get_path(item, spec["id_path"]) if isinstance(item, dict) else None
        if record_id is None:
            continue
        record_id = str(record_id)
        if record_id in seen_set:
            continue
        seen_set.add(record_id)
        fresh.append((record_id, item))
    baseline = not cursor.baseline_done and (trigger.config or {}).get("initial", "skip_existing") == "skip_existing"
    accepted = 0
    if not baseline:
        for record_id, item in fresh:
            event, _, duplicate = event_accept(
                incoming=Incoming(
                    type=Event.Type.APP_EVENT,
                    trigger=trigger,
                    payload=item,
                    source=f"poll:{trigger.connector_slug}",
                    event_type=spec.get("event_type", ""),
                    dedup_key=f"poll:{connection.id}:{record_id}",
                    customer=connection.customer,
                )
            )
            accepted += not duplicate
    new_cursor = get_path(result.value, spec["cursor_path"]) if spec.get("cursor_path") else cursor.cursor
    with transaction.atomic():
        PollCursor.objects.filter(pk=cursor_id).update(
            seen_ids=([rid for rid, _ in reversed(fresh)] + seen)[:MAX_SEEN_IDS],
            cursor=new_cursor,
            baseline_done=True,
            last_error="",
            new_records=accepted,
        )
    return accepted
