"""Activations: a customer switching a template on and off for themselves.

Enabling checks the customer's settings against the template's JSON Schema
(400 naming the field) and that every required app is connected (409
naming it), then gives the activation its own trigger, bound to the
customer, whose runs see the settings as `ctx.config`. Disabling disables
that trigger (a webhook URL answers 409, a schedule stops); enabling again
reuses it, with the last settings as the default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.principals import Principal
from apps.settings.models import Customer
from apps.settings.services import audit_record
from apps.widgets.exceptions import ConnectorNotConnected
from apps.widgets.models import Activation, Template
from apps.widgets.schemas import config_validate, config_with_defaults
from apps.widgets.services.templates import require_deployed, template_recipe_config


@dataclass
class ActivationResult:
    activation: Activation
    created: bool  # False: it was enabled already (its settings may have changed)
    once: dict[str, str] = field(default_factory=dict)  # a generated signing secret, shown once


def connected_connectors(*, customer: Customer, slugs: list[str]) -> set[str]:
    from apps.connectors.selectors import connection_list_for_customer

    return set(
        connection_list_for_customer(customer=customer, status="connected")
        .filter(connector__slug__in=slugs)
        .values_list("connector__slug", flat=True)
    )


def _require_connected(template: Template, customer: Customer) -> None:
    connected = connected_connectors(customer=customer, slugs=template.connectors)
    missing = [slug for slug in template.connectors if slug not in connected]
    if missing:
        raise ConnectorNotConnected(
            f"Connect {missing[0]} first: {template.title} needs it."
            + (f" (Also missing: {', '.join(missing[1:])}.)" if len(missing) > 1 else ""),
            details={"connector": missing[0], "missing": missing},
        )


def _require_runnable(template: Template) -> None:
    from apps.workflows.exceptions import WorkflowDisabled

    if not template.workflow.enabled:
        raise WorkflowDisabled(f"{template.title} is switched off by its provider for now.")
    require_deployed(template.workflow, template.environment)


def activation_enable(
    *, actor: Principal, template: Template, customer: Customer, config: dict[str, Any] | None = None
) -> ActivationResult:
    """Switch `template` on for `customer` with `config` (None: the settings of
    the last time, or the schema's defaults)."""
    from apps.triggers.services.triggers import trigger_create, trigger_update

    existing = Activation.objects.filter(template=template, customer=customer).first()
    base = config if config is not None else (existing.config if existing is not None else {})
    values = config_validate(template.config_schema, config_with_defaults(template.config_schema, base))
    _require_connected(template, customer)
    _require_runnable(template)
    now = timezone.now()
    once: dict[str, str] = {}
    with transaction.atomic():
        activation = (
            Activation.objects.select_for_update(of=("self",))
            .select_related("trigger__workflow")
            .filter(pk=existing.pk)
            .first()
            if existing is not None
            else None
        )
        if activation is None:
            try:
                with transaction.atomic():
                    activation = Activation.objects.create(
                        template=template, customer=customer, enabled=False, config=values
                    )
            except IntegrityError:  # enabled by a concurrent request meanwhile
                activation = Activation.objects.select_for_update().get(template=template, customer=customer)
        was_enabled = activation.enabled
        if activation.trigger is None:
            made = trigger_create(
                actor=actor,
                type=template.trigger_type,
                workflow=template.workflow.slug,
                config=template_recipe_config(template),
                environment=template.environment,
                customer=customer.external_id,
                name=f"{template.title} · {customer.external_id}"[:200],
                run_config=values,
            )
            activation.trigger, once = made.trigger, made.once
        else:
            trigger_update(actor=actor, trigger=activation.trigger, enabled=True, run_config=values)
        activation.enabled = True
        activation.config = values
        if not was_enabled:
            activation.enabled_at = now
        activation.save()
    audit_record(
        actor=actor,
        action="template.enable" if not was_enabled else "template.configure",
        resource_type="activation",
        resource_id=str(activation.id),
        changes={"template": template.slug, "customer": customer.external_id, "settings": sorted(values)},
    )
    return ActivationResult(activation, created=not was_enabled, once=once)


def activation_disable(*, actor: Principal, template: Template, customer: Customer) -> Activation | None:
    """Switch `template` off for `customer`: its trigger stops at once; its
    settings stay for the next time. Nothing to do when it is off already."""
    from apps.triggers.services.triggers import trigger_update

    with transaction.atomic():
        activation = (
            Activation.objects.select_for_update(of=("self",))
            .select_related("trigger__workflow")
            .filter(template=template, customer=customer)
            .first()
        )
        if activation is None or not activation.enabled:
            return activation
        if activation.trigger is not None:
            trigger_update(actor=actor, trigger=activation.trigger, enabled=False)
        activation.enabled = False
        activation.disabled_at = timezone.now()
        activation.save(update_fields=["enabled", "disabled_at", "updated_at"])
    audit_record(
        actor=actor,
        action="template.disable",
        resource_type="activation",
        resource_id=str(activation.id),
        changes={"template": template.slug, "customer": customer.external_id},
    )
    return activation
