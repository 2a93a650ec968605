"""Small `Host` implementations for tests, local runs and the draft "Test" button without services."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from .interface import HostOp, HostResult


class HostError(Exception):
    """Raised by a `DictHost` handler to reject the workflow's call with these fields."""

    def __init__(
        self, message: str, *, name: str = "Error", status: int | None = None, body: Any = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"message": message, "name": name}
        if status is not None:
            self.error["status"] = status
        if body is not None:
            self.error["body"] = body
        if code is not None:
            self.error["code"] = code


def not_available(op: HostOp) -> HostResult:
    return HostResult(
        op.id,
        ok=False,
        error={
            "message": f"fastn.{op.name} is not available in this environment",
            "name": "Error",
            "code": "not_available",
        },
    )


class NullHost:
    """Fails every runtime call with a clear "not available" error."""

    def perform(self, ops: list[HostOp], *, deadline: float) -> list[HostResult]:
        return [not_available(op) for op in ops]


Handler = Callable[[dict[str, Any]], Any]


class DictHost:
    """Answers runtime calls from in-memory data, and records what it was asked.

    * `secrets`: name → value (returned with `secret_values`, so it is redacted);
      a missing name rejects with an Error naming it.
    * `connectors`: `"slug.action"` → a JSON value, or a handler called with the
      action's params; a handler may raise `HostError` (status, body).
    * `db`: `"db.query"` / `"db.execute"` → a handler called with `{sql, params}`.
    * state is kept in memory per scope, like the real store.
    Anything else fails as not available. `batches` lists every `perform` call's ops.
    """

    def __init__(
        self,
        *,
        secrets: Mapping[str, str] | None = None,
        connectors: Mapping[str, Any] | None = None,
        db: Mapping[str, Handler] | None = None,
        state: Mapping[tuple[str, str], Any] | None = None,
    ) -> None:
        self.secrets = dict(secrets or {})
        self.connectors = dict(connectors or {})
        self.db = dict(db or {})
        self.state: dict[tuple[str, str], Any] = dict(state or {})
        self.batches: list[list[HostOp]] = []
        self._lock = threading.Lock()

    @property
    def ops(self) -> list[HostOp]:
        return [op for batch in self.batches for op in batch]

    def perform(self, ops: list[HostOp], *, deadline: float) -> list[HostResult]:
        with self._lock:
            self.batches.append(list(ops))
        return [self._answer(op) for op in ops]

    def _answer(self, op: HostOp) -> HostResult:
        args = op.args
        try:
            if op.name == "secrets.get":
                if args["name"] not in self.secrets:
                    raise HostError(f"Secret '{args['name']}' is not defined", code="secret_not_found")
                value = self.secrets[args["name"]]
                return HostResult(op.id, ok=True, value=value, secret_values=(value,))
            if op.name == "state.get":
                return HostResult(op.id, ok=True, value=self.state.get((args["scope"], args["key"])))
            if op.name == "state.set":
                self.state[(args["scope"], args["key"])] = args["value"]
                return HostResult(op.id, ok=True, value=None)
            if op.name == "state.delete":
                self.state.pop((args["scope"], args["key"]), None)
                return HostResult(op.id, ok=True, value=None)
            if op.name == "connector.call":
                answer = self.connectors.get(f"{args['connector']}.{args['action']}", _MISSING)
                if answer is _MISSING:
                    return not_available(op)
                return HostResult(op.id, ok=True, value=answer(args["params"]) if callable(answer) else answer)
            if op.name in self.db:
                return HostResult(op.id, ok=True, value=self.db[op.name](args))
        except HostError as error:
            return HostResult(op.id, ok=False, error=error.error)
        return not_available(op)


_MISSING = object()
