"""Writes to triggers: create, change, delete, rotate tokens and secrets.

Every mutation is audited. Secrets (signing secrets, provider secrets) are
stored encrypted and never returned, except a generated signing secret in
the response of the call that made it. Hook tokens are 256-bit random
strings; their SHA-256 routes `/hooks/…` through apps.core.HookRoute.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.principals import Principal
from apps.core import crypto
from apps.core.errors import FastnError, InvalidInput
from apps.core.models import HookRoute
from apps.core.tenancy import current_organization
from apps.settings.models import Customer
from apps.settings.services import audit_record
from apps.triggers import config as config_checks
from apps.triggers.models import AppHookEndpoint, Trigger
from apps.triggers.schedules import Schedule, jitter_offset
from apps.workflows.models import Workflow

TOKEN_BYTES = 32  # 256 bits
SECRET_PREFIX = "whsec_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def public_url(path: str) -> str:
    return settings.FASTN_PUBLIC_URL.rstrip("/") + path


@dataclass
class TriggerResult:
    trigger: Trigger
    # Shown once, in the answer of the call that created them.
    once: dict[str, str] = field(default_factory=dict)


# --- lookups of what the body names (400 naming the field when missing) ----------------


def _workflow(slug: Any) -> Workflow:
    if not isinstance(slug, str) or not slug:
        raise InvalidInput.for_field("workflow", "Name the workflow by its slug.")
    workflow = Workflow.objects.filter(slug=slug).first()
    if workflow is None:
        raise InvalidInput.for_field("workflow", f"No workflow with the slug {slug!r}.", code="workflow_not_found")
    return workflow


def _customer(external_id: str | None) -> Customer | None:
    if external_id is None:
        return None
    customer = Customer.objects.filter(external_id=external_id).first()
    if customer is None:
        raise InvalidInput.for_field(
            "customer", f"No customer with external_id {external_id!r}.", code="customer_not_found"
        )
    return customer


def _environment(actor: Principal, slug: str) -> str:
    from apps.settings.models import Environment
    from apps.settings.services import environment_check_allowed

    if not Environment.objects.filter(slug=slug).exists():
        raise InvalidInput.for_field("environment", f"No environment {slug!r}.", code="environment_not_found")
    # A Test key may not set up runs in production, as it may not run there.
    environment_check_allowed(principal=actor, environment_slug=slug, action="run")
    return slug


def _connector_for_app_event(slug: str) -> dict:
    from apps.connectors.services.calls import connector_load

    loaded = connector_load(slug=slug)
    if loaded is None:
        raise InvalidInput.for_field(
            "config.connector", f"No connector {slug!r}: install it first.", code="connector_not_found"
        )
    events = (loaded.definition.get("events") or {}) if isinstance(loaded.definition, dict) else {}
    if not events:
        raise InvalidInput.for_field(
            "config.connector", f"The connector {slug!r} declares no events (webhook or polling)."
        )
    return events


def trigger_config_check(*, type: str, config: Any) -> config_checks.CheckedConfig:
    """Check a new trigger's `config` as trigger_create would (400 naming
    `config.<field>`), without creating anything: for recipes kept elsewhere
    (a template's trigger, apps.widgets)."""
    if type not in Trigger.Type.values:
        raise InvalidInput.for_field("type", "Must be webhook, scheduler or app_event.")
    return _check_config(type=type, raw=config, trigger=None)


def _check_run_config(value: Any) -> dict | None:
    if value is not None and not isinstance(value, dict):
        raise InvalidInput.for_field("run_config", "Must be a JSON object.")
    return value


def _check_config(*, type: str, raw: Any, trigger: Trigger | None) -> config_checks.CheckedConfig:
    if not isinstance(raw, dict):
        raise InvalidInput.for_field("config", "Must be a JSON object.")
    has_secret = bool(trigger and trigger.secret_ciphertext)
    if type == Trigger.Type.WEBHOOK:
        return config_checks.check_webhook(raw, has_secret=has_secret)
    if type == Trigger.Type.SCHEDULER:
        organization = current_organization()
        return config_checks.check_scheduler(raw, default_timezone=getattr(organization, "timezone", "UTC") or "UTC")
    checked = config_checks.check_app_event(raw, has_secret=has_secret)
    events = _connector_for_app_event(checked.config["connector"])
    signed = bool((events.get("webhook") or {}).get("signature"))
    if (
        signed
        and "polling" not in events
        and checked.secret is None
        and not has_secret
        and checked.config["secret_source"] == "trigger"
    ):
        raise InvalidInput.for_field(
            "config.secret",
            f"{checked.config['connector']} signs its webhooks: give the signing secret it shows you, "
            "or secret_source oauth_app.",
        )
    return checked


# --- schedules ------------------------------------------------------------------------------


def schedule_of(trigger: Trigger) -> Schedule:
    config = trigger.config or {}
    return Schedule(
        cron=config.get("cron"),
        timezone=config.get("timezone", "UTC"),
        interval_seconds=config.get("interval_seconds"),
        anchor=trigger.created_at,
    )


def schedule_plan(trigger: Trigger, *, after) -> tuple[Any, Any]:
    """(next nominal time after `after`, when it is due with the jitter)."""
    scheduled_for = schedule_of(trigger).next_after(after)
    offset = jitter_offset(trigger.id, scheduled_for, int((trigger.config or {}).get("jitter_seconds", 0)))
    return scheduled_for, scheduled_for + timedelta(seconds=offset)


def _schedule_state(trigger: Trigger) -> None:
    if trigger.type != Trigger.Type.SCHEDULER or not trigger.enabled:
        trigger.next_scheduled_for = trigger.next_run_at = None
        return
    if trigger.created_at is None:
        trigger.created_at = timezone.now()
    trigger.next_scheduled_for, trigger.next_run_at = schedule_plan(trigger, after=timezone.now())


def _schedule_watch(trigger: Trigger) -> None:
    """The schedule tick visits this organization when the trigger is next due (apps.core.ticks)."""
    if trigger.type == Trigger.Type.SCHEDULER and trigger.enabled and trigger.next_run_at is not None:
        from apps.core.ticks import tick_mark

        tick_mark(kind="schedule", at=trigger.next_run_at)


# --- hook routes -----------------------------------------------------------------------------


def _route_trigger_token(trigger: Trigger) -> str:
    """A new URL token for a webhook trigger; the old one stops working now."""
    token = _new_token()
    HookRoute.objects.filter(kind=HookRoute.Kind.TRIGGER, target_id=trigger.id).delete()
    HookRoute.objects.create(
        token_hash=token_hash(token),
        organization=current_organization(),
        kind=HookRoute.Kind.TRIGGER,
        target_id=trigger.id,
    )
    trigger.token_ciphertext = crypto.encrypt(token)
    trigger.token_prefix = token[:8]
    return token


def app_hook_endpoint(*, create: bool = True) -> AppHookEndpoint | None:
    """The organization's app-event endpoint (made on first use)."""
    endpoint = AppHookEndpoint.objects.filter(pk=1).first()
    if endpoint is None and create:
        try:
            with transaction.atomic():
                endpoint = AppHookEndpoint(pk=1)
                _route_app_token(endpoint)
                endpoint.save(force_insert=True)
        except IntegrityError:  # made by a concurrent request meanwhile
            endpoint = AppHookEndpoint.objects.get(pk=1)
    return endpoint


def _route_app_token(endpoint: AppHookEndpoint) -> str:
    token = _new_token()
    organization = current_organization()
    HookRoute.objects.filter(kind=HookRoute.Kind.APP, organization=organization).delete()
    HookRoute.objects.create(token_hash=token_hash(token), organization=organization, kind=HookRoute.Kind.APP)
    endpoint.token_ciphertext = crypto.encrypt(token)
    endpoint.token_prefix = token[:8]
    return token


def trigger_url(trigger: Trigger) -> str | None:
    """Where the trigger receives requests (webhooks; app events of webhook connectors)."""
    if trigger.type == Trigger.Type.WEBHOOK and trigger.token_ciphertext:
        return public_url(f"/hooks/{crypto.decrypt(trigger.token_ciphertext)}")
    if trigger.type == Trigger.Type.APP_EVENT:
        endpoint = app_hook_endpoint(create=False)
        if endpoint is not None:
            return public_url(f"/hooks/app/{crypto.decrypt(endpoint.token_ciphertext)}/{trigger.connector_slug}")
    return None


# --- create / update / delete ------------------------------------------------------------------


def _audit_config(trigger: Trigger) -> dict:
    return {k: v for k, v in (trigger.config or {}).items() if k != "input"}


def trigger_create(
    *,
    actor: Principal,
    type: str,
    workflow: str,
    config: Any,
    environment: str = "production",
    customer: str | None = None,
    name: str = "",
    enabled: bool = True,
    run_config: dict | None = None,
) -> TriggerResult:
    """`run_config` becomes `ctx.config` of every run the trigger starts."""
    if type not in Trigger.Type.values:
        raise InvalidInput.for_field("type", "Must be webhook, scheduler or app_event.")
    trigger = Trigger(
        type=type,
        name=name,
        workflow=_workflow(workflow),
        environment=_environment(actor, environment),
        customer=_customer(customer),
        enabled=enabled,
        run_config=_check_run_config(run_config),
        created_by=actor.label[:255],
        updated_by=actor.label[:255],
    )
    checked = _check_config(type=type, raw=config, trigger=None)
    trigger.config = checked.config
    trigger.connector_slug = checked.config.get("connector", "") if type == Trigger.Type.APP_EVENT else ""
    once: dict[str, str] = {}
    if checked.secret is not None:
        trigger.secret_ciphertext = crypto.encrypt(checked.secret)
    elif checked.wants_generated_secret:
        secret = _new_secret()
        trigger.secret_ciphertext = crypto.encrypt(secret)
        once["signing_secret"] = secret
    _schedule_state(trigger)
    with transaction.atomic():
        if type == Trigger.Type.WEBHOOK:
            _route_trigger_token(trigger)
        trigger.save()
        _schedule_watch(trigger)
        if type == Trigger.Type.APP_EVENT:
            app_hook_endpoint()
    audit_record(
        actor=actor,
        action="trigger.create",
        resource_type="trigger",
        resource_id=str(trigger.id),
        changes={
            "type": type,
            "workflow": trigger.workflow.slug,
            "environment": trigger.environment,
            "customer": customer,
            "config": _audit_config(trigger),
            "secret": "generated" if once else ("set" if checked.secret else None),
        },
    )
    return TriggerResult(trigger, once)


def trigger_update(*, actor: Principal, trigger: Trigger, **fields: Any) -> TriggerResult:
    """Change a trigger. `config` replaces the whole config (a secret left out
    stays as it was); the type cannot change."""
    changes: dict[str, Any] = {}
    once: dict[str, str] = {}
    if "type" in fields and fields["type"] != trigger.type:
        raise InvalidInput.for_field("type", "The type of a trigger cannot change: create another one.")
    if "workflow" in fields:
        workflow = _workflow(fields["workflow"])
        if workflow.pk != trigger.workflow_id:
            trigger.workflow = workflow
            changes["workflow"] = workflow.slug
    if "environment" in fields and fields["environment"] != trigger.environment:
        trigger.environment = _environment(actor, fields["environment"])
        changes["environment"] = trigger.environment
    if "customer" in fields:
        customer = _customer(fields["customer"])
        if (customer.pk if customer else None) != trigger.customer_id:
            trigger.customer = customer
            changes["customer"] = customer.external_id if customer else None
    if "name" in fields and fields["name"] != trigger.name:
        trigger.name = fields["name"]
        changes["name"] = trigger.name
    if "enabled" in fields and fields["enabled"] != trigger.enabled:
        trigger.enabled = fields["enabled"]
        changes["enabled"] = trigger.enabled
    if "run_config" in fields and fields["run_config"] != trigger.run_config:
        trigger.run_config = _check_run_config(fields["run_config"])
        changes["run_config"] = sorted(trigger.run_config or {})  # the keys: values are the customer's
    if "config" in fields:
        checked = _check_config(type=trigger.type, raw=fields["config"], trigger=trigger)
        if checked.config != trigger.config:
            trigger.config = checked.config
            changes["config"] = _audit_config(trigger)
        if trigger.type == Trigger.Type.APP_EVENT:
            trigger.connector_slug = checked.config["connector"]
        if checked.secret is not None:
            trigger.secret_ciphertext = crypto.encrypt(checked.secret)
            changes["secret"] = "set"
        elif checked.wants_generated_secret:
            secret = _new_secret()
            trigger.secret_ciphertext = crypto.encrypt(secret)
            once["signing_secret"] = secret
            changes["secret"] = "generated"
    if not changes:
        return TriggerResult(trigger, once)
    if {"config", "enabled"} & set(changes):
        _schedule_state(trigger)
    trigger.updated_by = actor.label[:255]
    trigger.save()
    _schedule_watch(trigger)
    audit_record(
        actor=actor, action="trigger.update", resource_type="trigger", resource_id=str(trigger.id), changes=changes
    )
    return TriggerResult(trigger, once)


def trigger_delete(*, actor: Principal, trigger: Trigger) -> None:
    trigger_id = trigger.id
    with transaction.atomic():
        HookRoute.objects.filter(kind=HookRoute.Kind.TRIGGER, target_id=trigger_id).delete()
        trigger.delete()
    audit_record(
        actor=actor,
        action="trigger.delete",
        resource_type="trigger",
        resource_id=str(trigger_id),
        changes={"type": trigger.type, "workflow": trigger.workflow.slug},
    )


class NothingToRotate(FastnError):
    status, code = 409, "nothing_to_rotate"


def trigger_rotate_token(*, actor: Principal, trigger: Trigger) -> Trigger:
    """A new URL: for a webhook trigger its own; for an app-event trigger the
    organization's app-event URL (shared by all its app-event triggers)."""
    with transaction.atomic():
        if trigger.type == Trigger.Type.WEBHOOK:
            _route_trigger_token(trigger)
            trigger.updated_by = actor.label[:255]
            trigger.save(update_fields=["token_ciphertext", "token_prefix", "updated_by", "updated_at"])
            scope = "trigger"
        elif trigger.type == Trigger.Type.APP_EVENT:
            endpoint = app_hook_endpoint()
            _route_app_token(endpoint)
            endpoint.save()
            scope = "organization app-event URL"
        else:
            raise NothingToRotate("A scheduler trigger has no URL to rotate.")
    audit_record(
        actor=actor,
        action="trigger.rotate_token",
        resource_type="trigger",
        resource_id=str(trigger.id),
        changes={"scope": scope},
    )
    return trigger


def trigger_rotate_secret(*, actor: Principal, trigger: Trigger) -> tuple[Trigger, str]:
    """A new generated signing secret for a signed webhook trigger (shown once)."""
    if trigger.type != Trigger.Type.WEBHOOK or not (trigger.config or {}).get("signing"):
        raise NothingToRotate(
            "Only webhook triggers with signing have a generated secret; set an app event's secret with PATCH."
        )
    secret = _new_secret()
    trigger.secret_ciphertext = crypto.encrypt(secret)
    trigger.updated_by = actor.label[:255]
    trigger.save(update_fields=["secret_ciphertext", "updated_by", "updated_at"])
    audit_record(actor=actor, action="trigger.rotate_secret", resource_type="trigger", resource_id=str(trigger.id))
    return trigger, secret


def trigger_secret(trigger: Trigger) -> str | None:
    return crypto.decrypt(trigger.secret_ciphertext) if trigger.secret_ciphertext else None
