"""Which organization, customer, execution and request a log line belongs to.

Context variables set where the work starts — the request middleware (request
id, organization), Celery's task start (organization), the execution runner
(execution, customer) — and copied onto every log record by
`LogContextFilter`. With `FASTN_LOG_FORMAT=json` the records are written as
JSON lines (python-json-logger) carrying them as `organization`, `customer`,
`execution_id` and `request_id`; the plain format ignores them.

Context variables follow threads and asyncio tasks correctly, so gunicorn's
threads and Celery's pool never mix one request's ids into another's.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

FIELDS = ("organization", "customer", "execution_id", "request_id")
_vars: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"fastn_log_{name}", default=None) for name in FIELDS
}
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def bind(**values: object) -> dict[str, contextvars.Token]:
    """Set some of the fields (None clears one); returns tokens for `unbind`."""
    tokens = {}
    for name, value in values.items():
        tokens[name] = _vars[name].set(None if value is None else str(value))
    return tokens


def unbind(tokens: dict[str, contextvars.Token]) -> None:
    for name, token in tokens.items():
        try:
            _vars[name].reset(token)
        except ValueError:  # set in another context: clear instead
            _vars[name].set(None)


@contextmanager
def bound(**values: object) -> Iterator[None]:
    tokens = bind(**values)
    try:
        yield
    finally:
        unbind(tokens)


def current() -> dict[str, str | None]:
    return {name: var.get() for name, var in _vars.items()}


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    if header and REQUEST_ID_RE.match(header):
        return header
    return uuid.uuid4().hex


class LogContextFilter(logging.Filter):
    """Copies the context onto each record (attributes the JSON formatter emits)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _vars.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True
