"""Dashboard forms of the connector layer. They parse input only; the
services decide what is valid."""

from __future__ import annotations

import json

from django import forms

MAX_DEFINITION_CHARS = 5 * 1024 * 1024


class DefinitionForm(forms.Form):
    definition = forms.CharField(widget=forms.Textarea(attrs={"rows": 28, "spellcheck": "false"}), strip=False)

    def clean_definition(self):
        text = self.cleaned_data["definition"]
        if len(text) > MAX_DEFINITION_CHARS:
            raise forms.ValidationError("The definition is too large for the editor; import it through the API.")
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("A connector definition is a JSON object.")
        return value


class OpenAPIImportForm(forms.Form):
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "placeholder": "openapi: 3.0.0 …"}),
        required=False,
        strip=False,
    )
    file = forms.FileField(required=False, help_text="A .json or .yaml file")
    slug = forms.SlugField(max_length=63, required=False)
    name = forms.CharField(max_length=120, required=False)
    base_url = forms.URLField(max_length=2048, required=False, label="Base URL", assume_scheme="https")
    replace = forms.BooleanField(required=False, label="Replace a connector with this slug (new version)")

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            try:
                cleaned["document"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not (cleaned.get("document") or "").strip():
            raise forms.ValidationError("Paste an OpenAPI document or choose a file.")
        return cleaned


class OAuthAppForm(forms.Form):
    connector = forms.ChoiceField()
    client_id = forms.CharField(max_length=512, label="Client ID")
    client_secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        strip=False,
        label="Client secret",
        help_text="Leave empty to keep the stored secret when changing an app.",
    )
    redirect_uri = forms.URLField(max_length=2048, required=False, label="Redirect URI", assume_scheme="https")
    scopes = forms.CharField(
        max_length=4000, required=False, help_text="Space-separated; empty for the connector's own scopes."
    )

    def __init__(self, *args, connectors: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connector"].choices = connectors

    def clean_scopes(self):
        raw = self.cleaned_data["scopes"].replace(",", " ").split()
        return raw or None
