"""Replace secret values with `[REDACTED]` wherever a run's results could show them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces every known secret value inside strings, dict keys included.

    Values shorter than `MIN_SECRET_LENGTH` characters are ignored: redacting
    `"1"` or `"abc"` would shred ordinary output, and a value that short is no
    secret worth that damage. Each value is also matched in its JSON-escaped
    form, so a secret containing quotes or newlines is caught inside a
    `JSON.stringify`-ed log line too.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        for value in values:
            if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH or value in self._values:
                continue
            self._values.add(value)
            escaped = json.dumps(value)[1:-1]
            if escaped != value:
                self._values.add(escaped)
            self._pattern = None

    def __bool__(self) -> bool:
        return bool(self._values)

    def text(self, text: str) -> str:
        if not self._values:
            return text
        if self._pattern is None:
            # Longest first, so a secret that contains another is replaced whole.
            alternatives = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(value) for value in alternatives))
        return self._pattern.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with secrets redacted from every string, keys included."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(key) if isinstance(key, str) else key: self.value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value
