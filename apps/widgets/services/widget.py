"""Writes to the organization's widget: layout, design tokens, integrations,
templates shown, and the origins allowed to embed it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.accounts.principals import Principal
from apps.core.errors import InvalidInput
from apps.core.tenancy import current_organization
from apps.settings.services import audit_record
from apps.widgets.models import Template, WidgetConfig
from apps.widgets.origins import origin_normalise
from apps.widgets.shared.models import EmbedOrigin
from apps.widgets.style import style_check

MAX_INTEGRATIONS = 100
MAX_TEMPLATES = 200
MAX_ORIGINS = 50
MAX_LABEL = 100
FIELDS = ("title", "subtitle", "style", "integrations", "templates", "allowed_origins")


def _integrations(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise InvalidInput.for_field("integrations", "Must be a list of {connector, label?} objects.")
    if len(value) > MAX_INTEGRATIONS:
        raise InvalidInput.for_field("integrations", f"May hold at most {MAX_INTEGRATIONS} integrations.")
    from apps.connectors.selectors import connector_list

    slugs = [item.get("connector") for item in value if isinstance(item, dict)]
    known = set(
        connector_list().filter(slug__in=[s for s in slugs if isinstance(s, str)]).values_list("slug", flat=True)
    )
    out: list[dict[str, str]] = []
    for index, item in enumerate(value):
        where = f"integrations[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput.for_field(where, "Must be an object {connector, label?}.")
        unknown = sorted(set(item) - {"connector", "label"})
        if unknown:
            raise InvalidInput.for_field(f"{where}.{unknown[0]}", "Unknown field.")
        slug, label = item.get("connector"), item.get("label", "")
        if not isinstance(slug, str) or not slug:
            raise InvalidInput.for_field(f"{where}.connector", "Name the connector by its slug.")
        if slug not in known:
            raise InvalidInput.for_field(
                f"{where}.connector", f"No connector {slug!r} is installed.", code="connector_not_found"
            )
        if any(existing["connector"] == slug for existing in out):
            raise InvalidInput.for_field(f"{where}.connector", f"{slug!r} is listed twice.")
        if label is None:
            label = ""
        if not isinstance(label, str) or len(label) > MAX_LABEL:
            raise InvalidInput.for_field(f"{where}.label", f"Must be a string of at most {MAX_LABEL} characters.")
        out.append({"connector": slug, "label": label.strip()})
    return out


def _templates(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(slug, str) for slug in value):
        raise InvalidInput.for_field("templates", "Must be a list of template slugs.")
    if len(value) > MAX_TEMPLATES:
        raise InvalidInput.for_field("templates", f"May hold at most {MAX_TEMPLATES} templates.")
    known = set(Template.objects.filter(slug__in=value).values_list("slug", flat=True))
    out: list[str] = []
    for index, slug in enumerate(value):
        if slug not in known:
            raise InvalidInput.for_field(f"templates[{index}]", f"No template {slug!r}.", code="template_not_found")
        if slug in out:
            raise InvalidInput.for_field(f"templates[{index}]", f"{slug!r} is listed twice.")
        out.append(slug)
    return out


def _origins(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise InvalidInput.for_field("allowed_origins", "Must be a list of origins such as https://app.example.com.")
    if len(value) > MAX_ORIGINS:
        raise InvalidInput.for_field("allowed_origins", f"May hold at most {MAX_ORIGINS} origins.")
    out: list[str] = []
    for index, raw in enumerate(value):
        origin = origin_normalise(raw, field=f"allowed_origins[{index}]")
        if origin not in out:
            out.append(origin)
    return out


def _text(value: Any, field: str, *, max_length: int, required: bool) -> str:
    if not isinstance(value, str) or len(value) > max_length or (required and not value.strip()):
        need = "a non-empty string" if required else "a string"
        raise InvalidInput.for_field(field, f"Must be {need} of at most {max_length} characters.")
    return value.strip()


def widget_update(*, actor: Principal, **fields: Any) -> WidgetConfig:
    """Set the fields given (the others stay). Each is checked; an error names
    the field (`integrations[2].connector`, `style.color-primary`…)."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidInput.for_field(unknown[0], "Unknown field.")
    checked: dict[str, Any] = {}
    if "title" in fields:
        checked["title"] = _text(fields["title"], "title", max_length=120, required=True)
    if "subtitle" in fields:
        checked["subtitle"] = _text(fields["subtitle"], "subtitle", max_length=300, required=False)
    if "style" in fields:
        checked["style"] = style_check(fields["style"])
    if "integrations" in fields:
        checked["integrations"] = _integrations(fields["integrations"])
    if "templates" in fields:
        checked["templates"] = _templates(fields["templates"])
    if "allowed_origins" in fields:
        checked["allowed_origins"] = _origins(fields["allowed_origins"])
    with transaction.atomic():
        widget, _ = WidgetConfig.objects.select_for_update().get_or_create(pk=1)
        changed = {name: value for name, value in checked.items() if getattr(widget, name) != value}
        for name, value in changed.items():
            setattr(widget, name, value)
        if not changed:
            return widget
        widget.updated_by = actor.label[:255]
        widget.save()
        if "allowed_origins" in changed:
            _sync_origins(widget.allowed_origins)
    audit_record(actor=actor, action="widget.update", resource_type="widget", resource_id="widget", changes=changed)
    return widget


def _sync_origins(origins: list[str]) -> None:
    """The public copy of the allowed origins (CORS preflights read it)."""
    organization = current_organization()
    EmbedOrigin.objects.filter(organization=organization).exclude(origin__in=origins).delete()
    EmbedOrigin.objects.bulk_create(
        [EmbedOrigin(organization=organization, origin=origin) for origin in origins], ignore_conflicts=True
    )


def widget_forget_template(*, slug: str) -> None:
    """A deleted template leaves the widget's list."""
    widget = WidgetConfig.objects.select_for_update().filter(pk=1).first()
    if widget is not None and slug in (widget.templates or []):
        widget.templates = [s for s in widget.templates if s != slug]
        widget.save(update_fields=["templates", "updated_at"])
