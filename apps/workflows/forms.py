"""Forms of the workflow pages. They only parse what the browser sends;
ranges and rules are the services' (their errors are put back on the fields
with `add_service_error`)."""

from __future__ import annotations

import json
from datetime import datetime

from django import forms

from apps.core.errors import FastnError
from apps.workflows.tiers import RETRY_RANGES, Tier

SLUG_HELP = "Lowercase letters, digits and '-'. Made from the name when empty; it cannot change later."


class JSONTextField(forms.CharField):
    """A textarea holding JSON. Errors say where the JSON breaks; blank means `empty`."""

    def __init__(self, *, empty=None, object_only: bool = False, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}))
        self.empty = empty
        self.object_only = object_only
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if not text or not text.strip():
            return self.empty() if callable(self.empty) else self.empty
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}.", code="invalid_json"
            ) from exc
        if self.object_only and not isinstance(parsed, dict):
            raise forms.ValidationError('Must be a JSON object, e.g. {"x-source": "crm"}.', code="not_object")
        return parsed


class WorkflowCreateForm(forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "Sync contacts to CRM"}))
    slug = forms.CharField(
        max_length=100, required=False, help_text=SLUG_HELP, widget=forms.TextInput(attrs={"placeholder": "optional"})
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tier = forms.ChoiceField(choices=Tier.choices, initial=Tier.STANDARD)

    def clean_slug(self) -> str | None:
        return self.cleaned_data["slug"].strip() or None


def _number(low, high, step=1):
    return forms.NumberInput(attrs={"min": low, "max": high, "step": step})


class WorkflowDraftForm(forms.Form):
    """The editor: configuration panel and code, saved together."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tier = forms.ChoiceField(choices=Tier.choices)
    timeout_ms = forms.IntegerField(label="Timeout")
    enabled = forms.BooleanField(required=False, label="Active")
    require_passing_tests = forms.BooleanField(required=False, label="Require passing tests")
    retry_enabled = forms.BooleanField(required=False, label="Retry failed runs")
    retry_max_attempts = forms.IntegerField(label="Max attempts", widget=_number(*RETRY_RANGES["max_attempts"]))
    retry_initial_interval_ms = forms.IntegerField(
        label="Initial interval (ms)", widget=_number(*RETRY_RANGES["initial_interval_ms"], 100)
    )
    retry_backoff_coefficient = forms.FloatField(
        label="Backoff coefficient", widget=_number(*RETRY_RANGES["backoff_coefficient"], "0.1")
    )
    retry_max_interval_ms = forms.IntegerField(
        label="Max interval (ms)", widget=_number(*RETRY_RANGES["max_interval_ms"], 100)
    )
    code = forms.CharField(strip=False, widget=forms.Textarea)
    loaded_at = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_loaded_at(self) -> datetime | None:
        raw = self.cleaned_data["loaded_at"]
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw)
        except ValueError as exc:
            raise forms.ValidationError("Reload the page: the editor's state is not valid.") from exc

    @classmethod
    def initial_for(cls, workflow) -> dict:
        retry = workflow.retry_policy
        return {
            "name": workflow.name,
            "description": workflow.description,
            "tier": workflow.tier,
            "timeout_ms": workflow.timeout_ms,
            "enabled": workflow.enabled,
            "require_passing_tests": workflow.require_passing_tests,
            "retry_enabled": retry.get("enabled", False),
            "retry_max_attempts": retry.get("max_attempts"),
            "retry_initial_interval_ms": retry.get("initial_interval_ms"),
            "retry_backoff_coefficient": retry.get("backoff_coefficient"),
            "retry_max_interval_ms": retry.get("max_interval_ms"),
            "code": workflow.code,
            "loaded_at": workflow.updated_at.isoformat(),
        }

    def draft_fields(self) -> dict:
        """The keyword arguments of `workflow_update` (without code)."""
        data = self.cleaned_data
        coefficient = data["retry_backoff_coefficient"]
        return {
            "name": data["name"],
            "description": data["description"],
            "tier": data["tier"],
            "timeout_ms": data["timeout_ms"],
            "enabled": data["enabled"],
            "require_passing_tests": data["require_passing_tests"],
            "retry_policy": {
                "enabled": data["retry_enabled"],
                "max_attempts": data["retry_max_attempts"],
                "initial_interval_ms": data["retry_initial_interval_ms"],
                "backoff_coefficient": int(coefficient) if float(coefficient).is_integer() else coefficient,
                "max_interval_ms": data["retry_max_interval_ms"],
            },
        }


class PublishForm(forms.Form):
    note = forms.CharField(
        max_length=500, required=False, widget=forms.TextInput(attrs={"placeholder": "What changed (optional)"})
    )


class DeployForm(forms.Form):
    version = forms.TypedChoiceField(coerce=int, choices=())
    environment = forms.ChoiceField(choices=())

    def __init__(self, *args, versions=(), environments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [
            (v.number, f"v{v.number}" + (f" — {v.note}" if v.note else "")) for v in versions
        ]
        self.fields["environment"].choices = [(e.slug, e.name or e.slug) for e in environments]


class RunForm(forms.Form):
    environment = forms.ChoiceField(choices=())
    input = JSONTextField(empty=dict, label="Input (ctx.input)")
    customer = forms.CharField(
        max_length=255,
        required=False,
        label="Customer external ID",
        widget=forms.TextInput(attrs={"placeholder": "optional"}),
    )

    def __init__(self, *args, environments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].choices = [(e.slug, e.name or e.slug) for e in environments]


class TestRunForm(forms.Form):
    input = JSONTextField(empty=dict, label="ctx.input")
    headers = JSONTextField(empty=dict, object_only=True, label="ctx.headers")
    customer = forms.CharField(
        max_length=255,
        required=False,
        label="Customer external ID",
        widget=forms.TextInput(attrs={"placeholder": "optional"}),
    )
    code = forms.CharField(strip=False, required=False, widget=forms.HiddenInput)

    def clean_headers(self) -> dict:
        headers = self.cleaned_data["headers"]
        wrong = sorted(name for name, value in headers.items() if not isinstance(value, str))
        if wrong:
            raise forms.ValidationError(f"Header values must be strings (see {', '.join(wrong[:3])}).")
        return headers


# Service errors name API fields; these are the form fields that show them.
SERVICE_FIELDS = {
    "retry_policy.enabled": "retry_enabled",
    "retry_policy.max_attempts": "retry_max_attempts",
    "retry_policy.initial_interval_ms": "retry_initial_interval_ms",
    "retry_policy.backoff_coefficient": "retry_backoff_coefficient",
    "retry_policy.max_interval_ms": "retry_max_interval_ms",
}


def add_service_error(form: forms.Form, exc: FastnError) -> None:
    """Put a service's error on the fields it names, else on the whole form."""
    fields = (exc.details or {}).get("fields") or {}
    placed = False
    for name, messages in fields.items():
        target = SERVICE_FIELDS.get(name, name)
        if target in form.fields:
            for message in messages:
                form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)
