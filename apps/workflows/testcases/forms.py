"""The Test Cases tab's form: a case as a person types it (JSON in text areas)."""

from __future__ import annotations

import json

from django import forms

from apps.workflows.models import TestCase


class JSONTextField(forms.CharField):
    """A text area holding JSON; blank means `empty`."""

    def __init__(self, *, empty=None, kind: type | None = None, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}))
        super().__init__(**kwargs)
        self.empty = empty
        self.kind = kind

    def clean(self, value):
        value = super().clean(value)
        if not value.strip():
            return self.empty
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
        if self.kind is not None and not isinstance(parsed, self.kind):
            raise forms.ValidationError(f"Must be a JSON {'object' if self.kind is dict else 'list'}.")
        return parsed


class TestCaseForm(forms.Form):
    __test__ = False

    name = forms.CharField(max_length=200)
    scenario = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    mode = forms.ChoiceField(choices=TestCase.Mode.choices, initial=TestCase.Mode.MOCK)
    input = JSONTextField(empty=None)
    mocks = JSONTextField(empty=[], kind=list)
    expect_status = forms.ChoiceField(
        required=False,
        choices=[("completed", "Completed"), ("failed", "Failed"), ("timeout", "Timeout")],
        initial="completed",
    )
    expect_output = JSONTextField(empty=None)
    expect_assert = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2, "class": "mono"})
    )
    customer = forms.CharField(required=False, max_length=255)
    environment = forms.CharField(required=False, max_length=50)

    def service_fields(self) -> dict:
        data = self.cleaned_data
        expect: dict = {"status": data["expect_status"] or "completed"}
        if data["expect_output"] is not None:
            expect["output"] = data["expect_output"]
        if data["expect_assert"].strip():
            expect["assert"] = data["expect_assert"]
        return {
            "name": data["name"],
            "scenario": data["scenario"],
            "mode": data["mode"],
            "input": data["input"],
            "mocks": data["mocks"],
            "expect": expect,
            "customer": data["customer"].strip() or None,
            "environment": data["environment"].strip() or None,
        }


def add_service_error(form: forms.Form, exc) -> None:
    """Put a service's 400 on the field it names (`mocks[0].status` → mocks)."""
    fields = (exc.details or {}).get("fields") or {}
    for name, messages in fields.items():
        root = name.split(".")[0].split("[")[0]
        target = {"expect": "expect_output"}.get(root, root)
        if root == "expect" and "assert" in name:
            target = "expect_assert"
        if root == "expect" and "status" in name:
            target = "expect_status"
        form.add_error(target if target in form.fields else None, " ".join(messages))
    if not fields:
        form.add_error(None, exc.message)
