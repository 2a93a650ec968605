"""The public intake: `POST /hooks/{token}` and `POST /hooks/app/{token}/{connector}`.

No API key and no account header: the URL's token is the credential. Its
SHA-256 finds the organization in the shared HookRoute table (one indexed
lookup), and the view runs the rest inside that organization's schema
(`organization_context`) — the TenantMiddleware resolves /api/ and /o/
requests, these resolve themselves.

Plain Django views, not DRF: the body must be read as raw bytes for
signatures, and the path is the hot one (bench/intake.py).

Answers (API.md): an Instant workflow 200 with the result; otherwise 202
`{"event_id", "execution_id"?}` — also when Redis is down, because the
event is in PostgreSQL before the answer and the relay starts it later.
A retry with the same Idempotency-Key (or provider delivery id) gets the
first answer and starts nothing.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.connectors.exceptions import SignatureError
from apps.connectors.signatures import verify_signature
from apps.core.errors import FastnError, InvalidInput, PayloadTooLarge, error_body
from apps.core.headers import request_headers, strip_credentials
from apps.core.models import HookRoute, Organization
from apps.core.tenancy import organization_by_id, organization_context
from apps.triggers.exceptions import HookNotFound, SignatureRejected, SourceNotAllowed
from apps.triggers.models import Event, Trigger
from apps.triggers.services.events import Incoming, event_accept, event_accept_instant, event_remember_response
from apps.triggers.services.triggers import token_hash, trigger_secret

logger = logging.getLogger(__name__)

# The sender's delivery id, for senders that do not send Idempotency-Key,
# by signature scheme: a redelivery of the same event starts nothing new.
DELIVERY_ID_HEADERS = {"github": "x-github-delivery", "shopify": "x-shopify-webhook-id"}
DELIVERY_ID_FIELDS = {"stripe": "id", "slack": "event_id"}


class TriggerDisabled(FastnError):
    status, code = 409, "trigger_disabled"


class MethodNotAllowed(FastnError):
    status, code = 405, "method_not_allowed"


def _json_error(exc: FastnError) -> JsonResponse:
    response = JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@dataclass(frozen=True)
class Route:
    pk: int
    organization: Organization
    target_id: Any


# Every table named with its schema: the lookup runs in whatever search path
# the connection has (no `SET search_path` to public and back per request).
ROUTE_SQL = """
SELECT r.id, r.organization_id, r.target_id, o.status
  FROM public.core_hookroute r JOIN public.core_organization o ON o.id = r.organization_id
 WHERE r.token_hash = %s AND r.kind = %s AND NOT o.is_template
"""


def _route(token: str, kind: str) -> Route:
    """The route of a token (always read: a rotated token stops at once), and its
    organization (cached per process like the API's, FASTN_TENANT_CACHE_SECONDS)."""
    if not token or len(token) > 200:
        raise HookNotFound()
    with connection.qualified_cursor() as cursor:
        cursor.execute(ROUTE_SQL, [token_hash(token), kind])
        row = cursor.fetchone()
    if row is None or row[3] != Organization.Status.ACTIVE:
        raise HookNotFound()
    organization = organization_by_id(row[1])
    if organization is None or organization.status != Organization.Status.ACTIVE:
        raise HookNotFound()
    return Route(row[0], organization, row[2])


def parse_payload(raw: bytes, content_type: str) -> Any:
    """Any JSON; form posts become an object; other text arrives as {"body": text}."""
    from apps.workflows.services import MAX_INPUT_BYTES

    if len(raw) > MAX_INPUT_BYTES:
        raise PayloadTooLarge(
            f"A hook body may be at most {MAX_INPUT_BYTES} bytes.", details={"limit_bytes": MAX_INPUT_BYTES}
        )
    if not raw.strip():
        return {}
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        from django.http import QueryDict

        form = QueryDict(raw, encoding="utf-8")
        return {k: (v[0] if len(v) == 1 else v) for k, v in form.lists()}
    if kind in ("", "application/json", "text/json") or kind.endswith("+json") or raw.lstrip()[:1] in (b"{", b"["):
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("The request body is not valid JSON.", code="malformed_json") from None
    return {"body": raw.decode("utf-8", errors="replace")}


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _check_allowlist(trigger: Trigger, ip: str | None) -> None:
    allowlist = (trigger.config or {}).get("ip_allowlist")
    if not allowlist:
        return
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        raise SourceNotAllowed() from None
    if not any(address in ipaddress.ip_network(cidr) for cidr in allowlist):
        raise SourceNotAllowed(details={"ip": ip})


def _signature_scheme(config: dict) -> dict | None:
    if not config.get("signing"):
        return None
    tolerance = config.get("tolerance_seconds", 300)
    if config.get("signature"):
        return {"tolerance_seconds": tolerance, **config["signature"]}
    # Fastn's own format: "t=<unix>,v1=<hex HMAC-SHA256(secret, '<t>.<body>')>", Stripe's layout.
    return {
        "scheme": "stripe",
        "header": config.get("signature_header", "X-Fastn-Signature"),
        "tolerance_seconds": tolerance,
    }


def _check_signature(trigger: Trigger, headers: dict[str, str], raw: bytes) -> None:
    scheme = _signature_scheme(trigger.config or {})
    if scheme is None:
        return
    secret = trigger_secret(trigger)
    if not secret:
        raise SignatureRejected(
            "This hook has no signing secret yet; rotate the secret.", details={"reason": "no_secret"}
        )
    try:
        verify_signature(scheme, secret, headers, raw)
    except SignatureError as exc:
        raise SignatureRejected(exc.message, details={"reason": exc.reason}) from None


def _dedup_key(trigger: Trigger, headers: dict[str, str], payload: Any) -> str:
    config = trigger.config or {}
    key = headers.get("idempotency-key", "").strip()
    if not key and config.get("dedup_header"):
        key = headers.get(config["dedup_header"].lower(), "").strip()
    scheme = (config.get("signature") or {}).get("scheme")
    if not key and scheme in DELIVERY_ID_HEADERS:
        key = headers.get(DELIVERY_ID_HEADERS[scheme], "").strip()
    if not key and scheme in DELIVERY_ID_FIELDS and isinstance(payload, dict):
        value = payload.get(DELIVERY_ID_FIELDS[scheme])
        key = str(value) if isinstance(value, (str, int)) else ""
    if len(key) > 255:
        raise InvalidInput("The Idempotency-Key header may be at most 255 characters.", code="invalid_header")
    return key


def _replay(event: Event) -> JsonResponse:
    if event.response_status is not None and event.response_body is not None:
        response = JsonResponse(event.response_body, status=event.response_status)
    elif event.execution_id:
        # What a queued (not Instant) event answered the first time, built
        # again rather than stored: one write less on the intake path.
        response = JsonResponse(
            {"event_id": str(event.id), "execution_id": str(event.execution_id), "status": "queued"}, status=202
        )
    else:
        response = JsonResponse({"event_id": str(event.id), "status": event.status}, status=202)
    response["Idempotent-Replayed"] = "true"
    return response


@csrf_exempt
def trigger_hook(request: HttpRequest, token: str) -> JsonResponse:
    try:
        if request.method != "POST":
            raise MethodNotAllowed(f"Use POST on a hook URL, not {request.method}.")
        route = _route(token, HookRoute.Kind.TRIGGER)
        with organization_context(route.organization):
            return _trigger_hook(request, route)
    except FastnError as exc:
        return _json_error(exc)


def _trigger_hook(request: HttpRequest, route: Route) -> JsonResponse:
    from apps.triggers.selectors import webhook_target
    from apps.workflows import runner
    from apps.workflows.tiers import TIERS

    trigger, version = webhook_target(trigger_id=route.target_id)
    if trigger is None:
        # The trigger went with its workflow (a cascade): its route goes too.
        HookRoute.objects.filter(pk=route.pk).delete()
        raise HookNotFound()
    if not trigger.enabled:
        raise TriggerDisabled("This trigger is disabled.")
    ip = _client_ip(request)
    _check_allowlist(trigger, ip)
    raw = request.body
    all_headers = request_headers(request.META)
    _check_signature(trigger, all_headers, raw)
    payload = parse_payload(raw, request.META.get("CONTENT_TYPE", ""))
    incoming = Incoming(
        type=Event.Type.WEBHOOK,
        trigger=trigger,
        payload=payload,
        headers=strip_credentials(all_headers),
        source="hook",
        source_ip=ip,
        dedup_key=_dedup_key(trigger, all_headers, payload),
        customer=trigger.customer,
        version=version,
    )
    # Instant: run here when this process has room (apps.workflows.inline).
    answer, counted = event_accept_instant(incoming=incoming, max_wait_s=settings.FASTN_HOOK_INSTANT_WAIT_SECONDS)
    if answer is not None:
        return JsonResponse(answer.body, status=answer.status)
    event, dispatched, duplicate = event_accept(incoming=incoming, quota_counted=counted)
    if duplicate:
        return _replay(event)
    if dispatched is None or dispatched.execution is None:
        error = dispatched.error if dispatched else None
        if error is None:
            return _replay(event)
        body = error_body(error.code, error.message, {**error.details, "event_id": str(event.id)})
        return JsonResponse(body, status=error.status)
    execution = dispatched.execution
    body: dict[str, Any] = {"event_id": str(event.id), "execution_id": str(execution.id), "status": "queued"}
    status_code = 202
    if TIERS[execution.tier].synchronous and dispatched.enqueued:
        budget = min(
            settings.FASTN_HOOK_INSTANT_WAIT_SECONDS,
            execution.timeout_ms / 1000 * max(execution.max_attempts, 1) + 5,
        )
        try:
            outcome = runner.execution_wait(execution_id=execution.id, timeout_s=budget)
        except Exception:  # noqa: BLE001 - Redis went away while waiting: the event still runs
            logger.warning("Waiting for execution %s failed", execution.id, exc_info=True)
            outcome = None
        if outcome is not None:
            status_code = 200
            body.update(status=outcome["status"], output=outcome.get("output"), duration_ms=outcome.get("duration_ms"))
            if outcome["status"] != "completed":
                body["error"] = outcome.get("error")
        else:
            body["status"] = "running"
        event_remember_response(event=event, status_code=status_code, body=body)
    return JsonResponse(body, status=status_code)


@csrf_exempt
def app_hook(request: HttpRequest, token: str, connector: str) -> JsonResponse:
    from apps.triggers.services.app_events import app_event_receive

    try:
        if request.method != "POST":
            raise MethodNotAllowed(f"Use POST on a hook URL, not {request.method}.")
        route = _route(token, HookRoute.Kind.APP)
        with organization_context(route.organization):
            raw = request.body
            headers = request_headers(request.META)
            payload = parse_payload(raw, request.META.get("CONTENT_TYPE", ""))
            delivery = app_event_receive(
                connector_slug=connector,
                raw_body=raw,
                payload=payload,
                headers=headers,
                source_ip=_client_ip(request),
            )
    except FastnError as exc:
        return _json_error(exc)
    if delivery.challenge is not None:
        return JsonResponse({"challenge": delivery.challenge})
    body: dict[str, Any] = {
        "event_type": delivery.event_type,
        "event_ids": [str(event.id) for event, _, _ in delivery.accepted],
        "execution_ids": [
            str(event.execution_id or (d.execution.id if d and d.execution else ""))
            for event, d, _ in delivery.accepted
            if event.execution_id or (d and d.execution)
        ],
    }
    if delivery.ignored:
        body["ignored"] = delivery.ignored
    return JsonResponse(body, status=202 if delivery.accepted else 200)


@csrf_exempt
def unknown_hook(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any other path under /hooks/: the JSON 404 of an unknown token."""
    return _json_error(HookNotFound())
