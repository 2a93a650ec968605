"""The dashboard's trigger form: flat fields a person fills in, turned into the
API's `config` for the type being created (the service checks everything)."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.core.errors import FastnError
from apps.triggers.models import Trigger

SCHEMES = [
    ("", "Fastn (X-Fastn-Signature)"),
    ("github", "GitHub"),
    ("stripe", "Stripe"),
    ("shopify", "Shopify"),
    ("slack", "Slack"),
]


def _words(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


class TriggerForm(forms.Form):
    type = forms.ChoiceField(choices=Trigger.Type.choices, widget=forms.HiddenInput)
    name = forms.CharField(max_length=200, required=False)
    workflow = forms.ChoiceField(choices=())
    environment = forms.ChoiceField(choices=())
    customer = forms.CharField(
        max_length=255, required=False, help_text="A customer's external id; empty: the organization."
    )
    enabled = forms.BooleanField(required=False, initial=True)
    # webhook
    signing = forms.BooleanField(
        required=False,
        label="Verify an HMAC-SHA256 signature",
        widget=forms.CheckboxInput(attrs={"data-shows": ".signing-fields"}),
    )
    signature_scheme = forms.ChoiceField(choices=SCHEMES, required=False, label="Signature format")
    signature_header = forms.CharField(max_length=100, required=False, label="Signature header")
    secret = forms.CharField(
        max_length=512,
        required=False,
        widget=forms.PasswordInput,
        help_text="Leave empty to keep it (or to generate one).",
    )
    tolerance_seconds = forms.IntegerField(
        required=False, min_value=0, max_value=86400, label="Timestamp tolerance (s)"
    )
    ip_allowlist = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="IP allowlist")
    # scheduler
    cron = forms.CharField(max_length=120, required=False, help_text="5 fields, e.g. */15 * * * *")
    timezone = forms.CharField(max_length=64, required=False)
    interval_seconds = forms.IntegerField(required=False, label="…or every N seconds")
    missed = forms.ChoiceField(
        choices=[("skip", "Skip missed runs"), ("catch_up_once", "Catch up once")], required=False
    )
    jitter_seconds = forms.IntegerField(required=False, min_value=0, max_value=3600, label="Jitter (s)")
    customers = forms.CharField(
        required=False, label="Run for these customers", help_text="External ids, comma-separated."
    )
    # app events
    connector = forms.CharField(max_length=63, required=False)
    event_types = forms.CharField(required=False, help_text="Comma-separated; empty: every event.")

    def __init__(self, *args, workflows=(), environments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow"].choices = list(workflows)
        self.fields["environment"].choices = list(environments)

    def service_fields(self, *, editing: Trigger | None = None) -> dict[str, Any]:
        """The service's keyword arguments (config included) from the cleaned data."""
        data = self.cleaned_data
        kind = editing.type if editing else data["type"]
        config: dict[str, Any] = {}
        if kind == Trigger.Type.WEBHOOK:
            # The checkbox decides: the signature fields are hidden (and may
            # keep a value) while it is off.
            if data["signing"]:
                config["signing"] = True
                if data["signature_scheme"]:
                    config["signature"] = {"scheme": data["signature_scheme"]}
                elif data["signature_header"]:
                    config["signature_header"] = data["signature_header"]
                if data["secret"]:
                    config["secret"] = data["secret"]
            if data["tolerance_seconds"] is not None:
                config["tolerance_seconds"] = data["tolerance_seconds"]
            if data["ip_allowlist"].strip():
                config["ip_allowlist"] = _words(data["ip_allowlist"])
        elif kind == Trigger.Type.SCHEDULER:
            if data["cron"].strip():
                config["cron"] = data["cron"].strip()
                if data["timezone"].strip():
                    config["timezone"] = data["timezone"].strip()
            if data["interval_seconds"] is not None:
                config["interval_seconds"] = data["interval_seconds"]
            config["missed"] = data["missed"] or "skip"
            if data["jitter_seconds"]:
                config["jitter_seconds"] = data["jitter_seconds"]
            if data["customers"].strip():
                config["fan_out"] = "customers"
                config["customers"] = _words(data["customers"])
            if editing is not None and "input" in (editing.config or {}):
                config["input"] = editing.config["input"]
        else:
            config["connector"] = data["connector"].strip()
            config["event_types"] = _words(data["event_types"])
            if data["secret"]:
                config["secret"] = data["secret"]
        fields = {
            "name": data["name"],
            "workflow": data["workflow"],
            "environment": data["environment"],
            "customer": data["customer"].strip() or None,
            "enabled": data["enabled"],
            "config": config,
        }
        if editing is None:
            fields["type"] = kind
        return fields

    @classmethod
    def initial_for(cls, trigger: Trigger) -> dict[str, Any]:
        config = trigger.config or {}
        return {
            "type": trigger.type,
            "name": trigger.name,
            "workflow": trigger.workflow.slug,
            "environment": trigger.environment,
            "customer": trigger.customer.external_id if trigger.customer_id else "",
            "enabled": trigger.enabled,
            "signing": bool(config.get("signing")),
            "signature_scheme": (config.get("signature") or {}).get("scheme", ""),
            "signature_header": config.get("signature_header", ""),
            "tolerance_seconds": config.get("tolerance_seconds"),
            "ip_allowlist": ", ".join(config.get("ip_allowlist", [])),
            "cron": config.get("cron", ""),
            "timezone": config.get("timezone", ""),
            "interval_seconds": config.get("interval_seconds"),
            "missed": config.get("missed", "skip"),
            "jitter_seconds": config.get("jitter_seconds") or None,
            "customers": ", ".join(config.get("customers", [])),
            "connector": config.get("connector", ""),
            "event_types": ", ".join(config.get("event_types", [])),
        }

    def add_service_error(self, exc: FastnError) -> None:
        """Put the service's error on the field it names (config.cron → cron)."""
        placed = False
        for name, messages in ((exc.details or {}).get("fields") or {}).items():
            target = name.removeprefix("config.").split("[", 1)[0].split(".", 1)[0]
            target = {"signature": "signature_scheme", "fan_out": "customers"}.get(target, target)
            if target in self.fields:
                for message in messages:
                    self.add_error(target, message)
                placed = True
        if not placed:
            self.add_error(None, exc.message)
