"""Design tokens of the widget: names, kinds, defaults and presets.

The widget is styled only by CSS custom properties: a token `color-primary`
becomes `--fastn-color-primary` inside its shadow root. Values are checked
per kind with patterns that admit no CSS syntax beyond a value (no `;`,
braces, `url(`, comments or escapes), so a token cannot inject rules into
the widget or the host page.
"""

from __future__ import annotations

import re
from typing import Any

from apps.core.errors import InvalidInput

_HEX = r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})"
_NUM = r"-?(?:\d+\.?\d*|\.\d+)"
_FUNC_COLOR = rf"(?:rgb|rgba|hsl|hsla)\(\s*{_NUM}%?(?:\s*[,\s/]\s*{_NUM}%?){{2,3}}\s*\)"
_NAMED = r"(?:transparent|currentcolor|white|black)"
COLOR_RE = re.compile(rf"^(?:{_HEX}|{_FUNC_COLOR}|{_NAMED})$", re.IGNORECASE)
LENGTH_RE = re.compile(rf"^(?:0|{_NUM}(?:px|rem|em|%))$")
FONT_FAMILY_RE = re.compile(r"""^[A-Za-z0-9 ,'"_-]{1,200}$""")
FONT_WEIGHT_RE = re.compile(r"^(?:normal|bold|[1-9]00)$")
_SHADOW_PART = rf"(?:{_NUM}(?:px|rem|em)?|{_HEX}|{_FUNC_COLOR}|inset|{_NAMED})"
SHADOW_RE = re.compile(rf"^(?:none|{_SHADOW_PART}(?:[\s,]+{_SHADOW_PART})*)$", re.IGNORECASE)
NUMBER_RE = re.compile(rf"^{_NUM}$")

KINDS: dict[str, tuple[re.Pattern, str]] = {
    "color": (COLOR_RE, "a colour: #rgb, #rrggbb, #rrggbbaa, rgb()/rgba()/hsl()/hsla(), transparent, white or black"),
    "length": (LENGTH_RE, "a length: 0 or a number with px, rem, em or %"),
    "font-family": (FONT_FAMILY_RE, "font names separated by commas (letters, digits, spaces, quotes, - and _)"),
    "font-weight": (FONT_WEIGHT_RE, "normal, bold or 100–900"),
    "shadow": (SHADOW_RE, "a box-shadow: none, or lengths and colours (inset allowed)"),
    "number": (NUMBER_RE, "a number"),
}

# name → (kind, default). The defaults are the "light" preset.
TOKENS: dict[str, tuple[str, str]] = {
    "color-primary": ("color", "#4f46e5"),
    "color-primary-text": ("color", "#ffffff"),
    "color-background": ("color", "#ffffff"),
    "color-surface": ("color", "#f8fafc"),
    "color-text": ("color", "#0f172a"),
    "color-text-muted": ("color", "#64748b"),
    "color-border": ("color", "#e2e8f0"),
    "color-success": ("color", "#16a34a"),
    "color-warning": ("color", "#d97706"),
    "color-danger": ("color", "#dc2626"),
    "font-family": ("font-family", "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"),
    "font-size": ("length", "14px"),
    "font-size-title": ("length", "20px"),
    "font-weight-title": ("font-weight", "600"),
    "line-height": ("number", "1.5"),
    "radius": ("length", "8px"),
    "radius-card": ("length", "12px"),
    "radius-button": ("length", "6px"),
    "shadow-card": ("shadow", "0 1px 3px rgba(15, 23, 42, 0.08)"),
    "spacing": ("length", "16px"),
}

PRESETS: dict[str, dict[str, str]] = {
    "light": {name: default for name, (_, default) in TOKENS.items()},
    "dark": {
        **{name: default for name, (_, default) in TOKENS.items()},
        "color-primary": "#818cf8",
        "color-primary-text": "#0b1020",
        "color-background": "#0f172a",
        "color-surface": "#1e293b",
        "color-text": "#f1f5f9",
        "color-text-muted": "#94a3b8",
        "color-border": "#334155",
        "shadow-card": "0 1px 3px rgba(0, 0, 0, 0.5)",
    },
    "compact": {
        **{name: default for name, (_, default) in TOKENS.items()},
        "font-size": "13px",
        "font-size-title": "16px",
        "radius": "4px",
        "radius-card": "6px",
        "radius-button": "4px",
        "spacing": "10px",
        "shadow-card": "none",
    },
}

MAX_VALUE_LENGTH = 200


def style_check(style: Any) -> dict[str, str]:
    """The tokens of `style` if every name is known and every value fits its
    kind; else InvalidInput naming `style.<token>`."""
    if not isinstance(style, dict):
        raise InvalidInput.for_field("style", "Must be a JSON object of design tokens.")
    checked: dict[str, str] = {}
    for name, value in style.items():
        if name not in TOKENS:
            raise InvalidInput.for_field(f"style.{name}", "Unknown design token.", code="unknown_token")
        kind = TOKENS[name][0]
        pattern, expected = KINDS[kind]
        if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH or not pattern.match(value.strip()):
            raise InvalidInput.for_field(f"style.{name}", f"Must be {expected}.")
        checked[name] = value.strip()
    return checked


def style_resolved(style: dict[str, str] | None) -> dict[str, str]:
    """Every token: the organization's value, else the default."""
    values = {name: default for name, (_, default) in TOKENS.items()}
    values.update({k: v for k, v in (style or {}).items() if k in TOKENS})
    return values


def style_as_css(style: dict[str, str] | None, *, selector: str = "fastn-hub") -> str:
    """The tokens as a CSS rule of custom properties (the builder's export)."""
    lines = [f"  --fastn-{name}: {value};" for name, value in style_resolved(style).items()]
    return selector + " {\n" + "\n".join(lines) + "\n}\n"


def token_catalogue() -> list[dict[str, str]]:
    return [
        {"name": name, "kind": kind, "default": default, "css_variable": f"--fastn-{name}"}
        for name, (kind, default) in TOKENS.items()
    ]
