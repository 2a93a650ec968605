"""The sandbox host of a test-case run.

MOCK: every `fastn.connector` call is answered from the case's mocks, here,
in the worker: no connector code runs and nothing leaves the machine. A call
without a mock rejects with `unmocked_call` and is remembered, so the case
fails naming the action even if the workflow caught the error.

LIVE: connector calls go to the real connections of the case's customer,
as in a production run (traced, with `execution_id` empty).

In both modes `fastn.state` lives in memory for the run: a test never reads
or changes the state that real runs keep. `fastn.db` and `fastn.secrets` are
the organization's own (they never leave the machine either).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from apps.workflows.host import MAX_TTL_SECONDS, ExecutionHost, OpFailed, RunContext


def _params_match(expected: Any, actual: Any) -> bool:
    """A mock's `params` match when every key it names is equal in the call's params."""
    if not isinstance(expected, dict):
        return True
    if not isinstance(actual, dict):
        return False
    return all(key in actual and actual[key] == value for key, value in expected.items())


class TestCaseHost(ExecutionHost):
    __test__ = False

    def __init__(self, context: RunContext, *, mode: str, mocks: list[dict]) -> None:
        super().__init__(context)
        self.mode = mode
        self.mocks = [dict(mock) for mock in mocks]
        self._served: dict[tuple[str, str], int] = {}
        self.unmocked: list[str] = []
        self._state: dict[tuple[str, str], tuple[Any, float | None]] = {}
        self._lock = threading.Lock()

    # --- connectors ------------------------------------------------------------------

    def _mock_for(self, slug: str, action: str, params: Any) -> dict | None:
        """Mocks of one action answer in order; the last one keeps answering."""
        candidates = [
            m
            for m in self.mocks
            if m["connector"] == slug and m["action"] == action and _params_match(m.get("params"), params)
        ]
        if not candidates:
            return None
        with self._lock:
            served = self._served.get((slug, action), 0)
            self._served[(slug, action)] = served + 1
        return candidates[min(served, len(candidates) - 1)]

    def _connector_call(self, args: dict, deadline: float):
        if self.mode != "mock":
            return super()._connector_call(args, deadline)
        slug, action, params = args.get("connector"), args.get("action"), args.get("params")
        if not isinstance(slug, str) or not isinstance(action, str):
            raise OpFailed("A connector call needs a connector slug and an action name.", code="invalid_argument")
        mock = self._mock_for(slug, action, params)
        if mock is None:
            name = f"{slug}.{action}"
            with self._lock:
                if name not in self.unmocked:
                    self.unmocked.append(name)
            raise OpFailed(
                f"No mock for {name}: add one to the test case (MOCK runs never call the real connector).",
                code="unmocked_call",
                name="ConnectorError",
            )
        status = int(mock.get("status", 200))
        body = copy.deepcopy(mock.get("response"))
        self._local.status = status
        if status >= 400:
            raise OpFailed(
                f"{slug}.{action} answered HTTP {status} (mocked).",
                code="http_error",
                name="ConnectorError",
                status=status,
                body=body,
            )
        return body, ()

    # --- state (in memory, both scopes) ------------------------------------------------

    def _state_get(self, args: dict, deadline: float):
        key, scope = self._state_args(args)
        value, expires = self._state.get((scope, key), (None, None))
        if expires is not None and expires <= time.monotonic():
            self._state.pop((scope, key), None)
            return None, ()
        return copy.deepcopy(value), ()

    def _state_set(self, args: dict, deadline: float):
        key, scope = self._state_args(args)
        ttl = args.get("ttl")
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= MAX_TTL_SECONDS
        ):
            raise OpFailed(f"ttl is a number of seconds between 1 and {MAX_TTL_SECONDS}.", code="invalid_argument")
        self._state[(scope, key)] = (copy.deepcopy(args.get("value")), time.monotonic() + ttl if ttl else None)
        return None, ()

    def _state_delete(self, args: dict, deadline: float):
        key, scope = self._state_args(args)
        return self._state.pop((scope, key), None) is not None, ()

    HANDLERS = {
        **ExecutionHost.HANDLERS,
        "connector.call": _connector_call,
        "state.get": _state_get,
        "state.set": _state_set,
        "state.delete": _state_delete,
    }
