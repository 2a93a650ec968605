"""Templates: a deployed workflow that an organization offers its customers,
with required connectors, a JSON Schema for their settings and a trigger
recipe. Changing a template's workflow, environment or recipe changes every
activation's trigger with it."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apps.accounts.principals import Principal
from apps.core import crypto
from apps.core.errors import InvalidInput
from apps.settings.services import audit_record
from apps.widgets.exceptions import TemplateExists, TemplateNotDeployed
from apps.widgets.models import Activation, Template
from apps.widgets.schemas import config_schema_check

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
MAX_CONNECTORS = 20
TRIGGER_TYPES = ("webhook", "scheduler", "app_event")
# An activation's schedule runs for its own customer: fan-out belongs to org-level triggers.
NOT_IN_RECIPES = ("fan_out", "customers")


def _prefixed(exc: InvalidInput, prefix: str) -> InvalidInput:
    """The same error with its field under `prefix` (config.cron → trigger.config.cron)."""
    fields = (exc.details or {}).get("fields") or {}
    if not fields:
        return exc
    renamed = {f"{prefix}{name}": messages for name, messages in fields.items()}
    first, messages = next(iter(renamed.items()))
    return InvalidInput(f"{first}: {messages[0]}", code=exc.code, details={**exc.details, "fields": renamed})


def _workflow(slug: Any):
    from apps.workflows.models import Workflow

    if not isinstance(slug, str) or not slug:
        raise InvalidInput.for_field("workflow", "Name the workflow by its slug.")
    workflow = Workflow.objects.filter(slug=slug).first()
    if workflow is None:
        raise InvalidInput.for_field("workflow", f"No workflow with the slug {slug!r}.", code="workflow_not_found")
    return workflow


def _environment(slug: Any) -> str:
    from apps.settings.models import Environment

    if not isinstance(slug, str) or not Environment.objects.filter(slug=slug).exists():
        raise InvalidInput.for_field("environment", f"No environment {slug!r}.", code="environment_not_found")
    return slug


def require_deployed(workflow, environment: str) -> None:
    from apps.workflows.selectors import deployed_version

    if deployed_version(workflow_id=workflow.id, environment_slug=environment) is None:
        raise TemplateNotDeployed(
            f"The workflow {workflow.slug!r} has no version deployed to {environment}: publish and deploy it first.",
            details={"workflow": workflow.slug, "environment": environment},
        )


def _connectors(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(slug, str) for slug in value):
        raise InvalidInput.for_field("connectors", "Must be a list of connector slugs.")
    if len(value) > MAX_CONNECTORS:
        raise InvalidInput.for_field("connectors", f"May name at most {MAX_CONNECTORS} connectors.")
    from apps.connectors.selectors import connector_list

    known = set(connector_list().filter(slug__in=value).values_list("slug", flat=True))
    out: list[str] = []
    for index, slug in enumerate(value):
        if slug not in known:
            raise InvalidInput.for_field(
                f"connectors[{index}]", f"No connector {slug!r} is installed.", code="connector_not_found"
            )
        if slug not in out:
            out.append(slug)
    return out


def _recipe(value: Any, connectors: list[str]) -> tuple[str, dict, str | None]:
    """(type, normalised config, secret) of a trigger recipe."""
    from apps.triggers.services.triggers import trigger_config_check

    if not isinstance(value, dict):
        raise InvalidInput.for_field("trigger", 'Must be an object {"type", "config"}.')
    unknown = sorted(set(value) - {"type", "config"})
    if unknown:
        raise InvalidInput.for_field(f"trigger.{unknown[0]}", "Unknown field.")
    kind = value.get("type")
    if kind not in TRIGGER_TYPES:
        raise InvalidInput.for_field("trigger.type", "Must be webhook, scheduler or app_event.")
    config = value.get("config", {})
    if not isinstance(config, dict):
        raise InvalidInput.for_field("trigger.config", "Must be a JSON object.")
    for name in NOT_IN_RECIPES:
        if name in config:
            raise InvalidInput.for_field(
                f"trigger.config.{name}", "An activation's trigger runs for its own customer: leave it out."
            )
    try:
        checked = trigger_config_check(type=kind, config=config)
    except InvalidInput as exc:
        raise _prefixed(exc, "trigger.") from None
    if kind == "app_event" and checked.config["connector"] not in connectors:
        raise InvalidInput.for_field(
            "trigger.config.connector",
            "The app whose events start the workflow must be one of the template's connectors: "
            "each customer's events are routed by their own connection.",
        )
    return kind, checked.config, checked.secret


def _slug(value: Any, title: str) -> str:
    if value is None:
        base = slugify(title)[:90] or "template"
        slug, n = base, 2
        while Template.objects.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise InvalidInput.for_field(
            "slug", "Use 1–100 lowercase letters, digits or '-', starting with a letter or digit."
        )
    return value


def _text(value: Any, field: str, *, max_length: int, required: bool = False) -> str:
    if not isinstance(value, str) or len(value) > max_length or (required and not value.strip()):
        raise InvalidInput.for_field(
            field, f"Must be {'a non-empty' if required else 'a'} string of at most {max_length} characters."
        )
    return value.strip()


def template_create(
    *,
    actor: Principal,
    workflow: Any,
    title: Any,
    trigger: Any,
    slug: Any = None,
    description: Any = "",
    environment: Any = "production",
    connectors: Any = None,
    config_schema: Any = None,
) -> Template:
    title = _text(title, "title", max_length=200, required=True)
    workflow_row = _workflow(workflow)
    environment = _environment(environment)
    connector_slugs = _connectors(connectors if connectors is not None else [])
    kind, recipe, secret = _recipe(trigger, connector_slugs)
    template = Template(
        slug=_slug(slug, title),
        title=title,
        description=_text(description, "description", max_length=5000),
        workflow=workflow_row,
        environment=environment,
        connectors=connector_slugs,
        config_schema=config_schema_check(config_schema),
        trigger_type=kind,
        trigger_config=recipe,
        trigger_secret_ciphertext=crypto.encrypt(secret) if secret else "",
        created_by=actor.label[:255],
        updated_by=actor.label[:255],
    )
    require_deployed(workflow_row, environment)
    try:
        with transaction.atomic():
            template.save(force_insert=True)
    except IntegrityError:
        raise TemplateExists(f"A template {template.slug!r} exists already.", details={"slug": template.slug}) from None
    audit_record(
        actor=actor,
        action="template.create",
        resource_type="template",
        resource_id=template.slug,
        changes={
            "workflow": workflow_row.slug,
            "environment": environment,
            "connectors": connector_slugs,
            "trigger": {"type": kind, "config": recipe},
        },
    )
    return template


def template_recipe_config(template: Template) -> dict:
    """The trigger config each activation's trigger is made with (its secret included)."""
    config = dict(template.trigger_config or {})
    if template.trigger_secret_ciphertext:
        config["secret"] = crypto.decrypt(template.trigger_secret_ciphertext)
    return config


def template_update(*, actor: Principal, template: Template, **fields: Any) -> Template:
    """Change a template. A new workflow, environment or recipe (of the same
    type) reaches every activation's trigger; the type cannot change while
    customers use the template."""
    changes: dict[str, Any] = {}
    if "title" in fields:
        title = _text(fields["title"], "title", max_length=200, required=True)
        if title != template.title:
            template.title = changes["title"] = title
    if "description" in fields:
        description = _text(fields["description"], "description", max_length=5000)
        if description != template.description:
            template.description = changes["description"] = description
    if "connectors" in fields:
        connectors = _connectors(fields["connectors"])
        if connectors != template.connectors:
            template.connectors = changes["connectors"] = connectors
    if "config_schema" in fields:
        schema = config_schema_check(fields["config_schema"])
        if schema != template.config_schema:
            template.config_schema = schema
            changes["config_schema"] = "changed"
    retrigger: dict[str, Any] = {}
    if "workflow" in fields:
        workflow = _workflow(fields["workflow"])
        if workflow.pk != template.workflow_id:
            template.workflow = workflow
            changes["workflow"] = retrigger["workflow"] = workflow.slug
    if "environment" in fields:
        environment = _environment(fields["environment"])
        if environment != template.environment:
            template.environment = changes["environment"] = retrigger["environment"] = environment
    if "trigger" in fields or "connectors" in changes:
        raw = _keep_secret(
            fields.get("trigger", {"type": template.trigger_type, "config": template.trigger_config}), template
        )
        kind, recipe, secret = _recipe(raw, template.connectors)
        if kind != template.trigger_type and template.activations.exists():
            raise InvalidInput.for_field(
                "trigger.type",
                "Customers use this template: its trigger type cannot change. Make a new template instead.",
            )
        secret_ciphertext = crypto.encrypt(secret) if secret else ""
        if "trigger" in fields and (
            kind != template.trigger_type
            or recipe != template.trigger_config
            or (secret or None) != (template_recipe_config(template).get("secret"))
        ):
            template.trigger_type, template.trigger_config = kind, recipe
            template.trigger_secret_ciphertext = secret_ciphertext
            changes["trigger"] = {"type": kind, "config": recipe}
            retrigger["config"] = template_recipe_config(template)
    if "workflow" in changes or "environment" in changes:
        require_deployed(template.workflow, template.environment)
    if not changes:
        return template
    template.updated_by = actor.label[:255]
    with transaction.atomic():
        template.save()
        if retrigger:
            _retrigger(actor, template, retrigger)
    audit_record(
        actor=actor, action="template.update", resource_type="template", resource_id=template.slug, changes=changes
    )
    return template


def _keep_secret(raw: Any, template: Template) -> Any:
    """A recipe sent again without its (write-only) secret keeps the stored one."""
    if not (isinstance(raw, dict) and isinstance(raw.get("config"), dict)) or "secret" in raw["config"]:
        return raw
    if raw.get("type") != template.trigger_type or not template.trigger_secret_ciphertext:
        return raw
    config = raw["config"]
    wants = (
        config.get("signing") is True or config.get("signature")
        if template.trigger_type == "webhook"
        else (config.get("secret_source", "trigger") == "trigger")
    )
    if not wants:
        return raw
    return {**raw, "config": {**config, "secret": crypto.decrypt(template.trigger_secret_ciphertext)}}


def _retrigger(actor: Principal, template: Template, fields: dict[str, Any]) -> None:
    from apps.triggers.services.triggers import trigger_update

    for activation in Activation.objects.select_related("trigger__workflow").filter(
        template=template, trigger__isnull=False
    ):
        try:
            trigger_update(actor=actor, trigger=activation.trigger, **fields)
        except InvalidInput as exc:
            raise _prefixed(exc, "trigger.") from None


def template_delete(*, actor: Principal, template: Template) -> None:
    """Delete a template: every activation's trigger goes (their URLs stop at
    once), then the activations and the template."""
    from apps.triggers.services.triggers import trigger_delete
    from apps.widgets.services.widget import widget_forget_template

    slug = template.slug
    with transaction.atomic():
        activations = list(Activation.objects.select_related("trigger__workflow").filter(template=template))
        for activation in activations:
            if activation.trigger is not None:
                trigger_delete(actor=actor, trigger=activation.trigger)
        template.delete()
        widget_forget_template(slug=slug)
    audit_record(
        actor=actor,
        action="template.delete",
        resource_type="template",
        resource_id=slug,
        changes={"activations": len(activations)},
    )
