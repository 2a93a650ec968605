"""The runtime API of a run, for real: database, state, secrets, connectors.

`ExecutionHost` implements the sandbox's `Host` protocol. The sandbox calls
`perform()` on the run's own thread with every operation the workflow queued
in one turn; independent slow operations (connector calls, fastn.db
statements) of one turn run concurrently on a small thread pool.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from apps.core import crypto
from apps.core.models import Organization
from apps.core.residency import customer_database
from apps.core.rls import customer_scope
from apps.settings.models import Customer, Secret
from apps.workflows.models import StateEntry
from apps.workflows.runtime import HostOp, HostResult

logger = logging.getLogger(__name__)

MAX_STATE_KEY = 512
MAX_STATE_VALUE_BYTES = 1024 * 1024
MAX_TTL_SECONDS = 366 * 24 * 3600
CONCURRENT_OPS = frozenset({"connector.call", "db.query", "db.execute"})
POOL_SIZE = 4


class OpFailed(Exception):
    """An expected failure of one operation: becomes a rejected promise."""

    def __init__(self, message: str, *, code: str, name: str = "Error", **extra: Any) -> None:
        super().__init__(message)
        self.error = {"message": message, "code": code, "name": name, **extra}


@dataclass
class RunContext:
    """Who and what a run is for."""

    organization: Organization
    workflow_id: Any
    customer: Customer | None
    execution_id: Any = None  # None for draft test runs
    invocation_state: dict[str, tuple[Any, float | None]] = field(default_factory=dict)


MAX_STEPS = 500
STEP_DETAIL_CHARS = 160


def _step_target(op: HostOp) -> tuple[str, str]:
    """(what the op touched, a short detail) for the execution's step list:
    connector and action, the SQL's first characters, the state key, the
    secret's name. Never a parameter value or a secret."""
    args = op.args if isinstance(op.args, dict) else {}
    if op.name == "connector.call":
        return f"{args.get('connector')}.{args.get('action')}", ""
    if op.name in ("db.query", "db.execute"):
        sql = " ".join(str(args.get("sql") or "").split())
        return op.name, sql[:STEP_DETAIL_CHARS]
    if op.name.startswith("state."):
        return str(args.get("key") or "")[:STEP_DETAIL_CHARS], str(args.get("scope") or "ORG")
    if op.name == "secrets.get":
        return str(args.get("name") or "")[:STEP_DETAIL_CHARS], ""
    return op.name, ""


class ExecutionHost:
    """Records every operation in `steps` (in start order, at most MAX_STEPS;
    `steps_dropped` counts the rest): the Sequence view's timeline."""

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self._pool: ThreadPoolExecutor | None = None
        self._secrets_cache: dict[str, str] = {}
        self._started = time.monotonic()
        self._steps: list[dict[str, Any]] = []
        self.steps_dropped = 0
        # The HTTP status of the connector call being performed, per thread.
        self._local = threading.local()

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The operations performed, ordered by when they started."""
        return sorted(self._steps, key=lambda step: step["at_ms"])

    def _record(self, op: HostOp, started: float, result: HostResult, status: int | None) -> None:
        if len(self._steps) >= MAX_STEPS:
            self.steps_dropped += 1
            return
        target, detail = _step_target(op)
        error = result.error or {}
        self._steps.append(
            {
                "op": op.name,
                "target": target,
                "detail": detail,
                "at_ms": round((started - self._started) * 1000, 2),
                "duration_ms": round((time.monotonic() - started) * 1000, 2),
                "ok": result.ok,
                "status": error.get("status", status),
                "error": None if result.ok else {"code": error.get("code"), "message": str(error.get("message"))[:300]},
            }
        )

    # --- protocol ---------------------------------------------------------------

    def perform(self, ops: list[HostOp], *, deadline: float) -> list[HostResult]:
        concurrent = [op for op in ops if op.name in CONCURRENT_OPS]
        results: list[HostResult] = []
        if len(concurrent) > 1:
            pool = self._executor()
            futures = {op.id: pool.submit(self._perform_in_thread, op, deadline) for op in concurrent}
            for op in ops:
                if op.name not in CONCURRENT_OPS:
                    results.append(self._perform_one(op, deadline))
            for op in concurrent:
                results.append(futures[op.id].result())
        else:
            results = [self._perform_one(op, deadline) for op in ops]
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # --- dispatch ---------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="fastn-host")
        return self._pool

    def _perform_in_thread(self, op: HostOp, deadline: float) -> HostResult:
        # Django connections belong to threads: this one needs the schema set.
        connection.set_tenant(self.context.organization)
        try:
            return self._perform_one(op, deadline)
        finally:
            close_old_connections()
            connection.close()

    def _perform_one(self, op: HostOp, deadline: float) -> HostResult:
        started = time.monotonic()
        self._local.status = None
        result = self._dispatch(op, deadline)
        self._record(op, started, result, self._local.status)
        return result

    def _dispatch(self, op: HostOp, deadline: float) -> HostResult:
        handler = self.HANDLERS.get(op.name)
        if handler is None:
            return HostResult(op.id, False, error={"message": f"Unknown runtime call {op.name}.", "code": "unknown_op"})
        if time.monotonic() >= deadline:
            return HostResult(op.id, False, error={"message": "The execution ran out of time.", "code": "timeout"})
        try:
            value, secrets = handler(self, op.args if isinstance(op.args, dict) else {}, deadline)
        except OpFailed as exc:
            return HostResult(op.id, False, error=exc.error, secret_values=tuple(exc.error.pop("_secrets", ())))
        return HostResult(op.id, True, value=value, secret_values=tuple(secrets))

    # --- secrets ---------------------------------------------------------------------

    def _secrets_get(self, args: dict, deadline: float):
        name = args.get("name")
        if not isinstance(name, str) or not name:
            raise OpFailed("fastn.secrets.get(name) needs a secret name.", code="invalid_argument", name="TypeError")
        if name not in self._secrets_cache:
            ciphertext = Secret.objects.filter(name=name).values_list("ciphertext", flat=True).first()
            if ciphertext is None:
                raise OpFailed(f"No secret named {name!r}.", code="secret_not_found")
            self._secrets_cache[name] = crypto.decrypt(ciphertext)
        value = self._secrets_cache[name]
        return value, (value,)

    # --- state ---------------------------------------------------------------------------

    @staticmethod
    def _state_args(args: dict) -> tuple[str, str]:
        key, scope = args.get("key"), (args.get("scope") or "ORG")
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_STATE_KEY:
            raise OpFailed(f"A state key is a string of 1 to {MAX_STATE_KEY} characters.", code="invalid_argument")
        if scope not in ("ORG", "INVOCATION"):
            raise OpFailed("scope must be 'ORG' or 'INVOCATION'.", code="invalid_argument", name="TypeError")
        return key, scope

    def _customer_id(self):
        return self.context.customer.id if self.context.customer else None

    def _scoped(self):
        """Customer runs touch customer-scoped tables under row-level security."""
        customer = self.context.customer
        return customer_scope(customer.id) if customer is not None else contextlib.nullcontext()

    def _state_get(self, args: dict, deadline: float):
        key, scope = self._state_args(args)
        if scope == "INVOCATION":
            value, expires = self.context.invocation_state.get(key, (None, None))
            if expires is not None and expires <= time.monotonic():
                self.context.invocation_state.pop(key, None)
                return None, ()
            return value, ()
        now = timezone.now()
        with self._scoped():
            value = (
                StateEntry.objects.filter(
                    workflow_id=self.context.workflow_id, customer_id=self._customer_id(), key=key
                )
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                .values_list("value", flat=True)
                .first()
            )
        return value, ()

    def _state_set(self, args: dict, deadline: float):
        key, scope = self._state_args(args)
        value = args.get("value")
        ttl = args.get("ttl")
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= MAX_TTL_SECONDS
        ):
            raise OpFailed(f"ttl is a number of seconds between 1 and {MAX_TTL_SECONDS}.", code="invalid_argument")
        size = len(json.dumps(value, separators=(",", ":")).encode("utf-8"))
        if size > MAX_STATE_VALUE_BYTES:
            raise OpFailed(
                f"A state value may be at most {MAX_STATE_VALUE_BYTES} bytes of JSON ({size} given).",
                code="value_too_large",
            )
        if scope == "INVOCATION":
            expires = time.monotonic() + ttl if ttl else None
            self.context.invocation_state[key] = (value, expires)
            return None, ()
        expires_at = timezone.now() + timedelta(seconds=ttl) if ttl else None
        entry = StateEntry(
            workflow_id=self.context.workflow_id,
            customer_id=self._customer_id(),
            key=key,
            value=value,
            size_bytes=size,
            expires_at=expires_at,
        )
        with self._scoped():
            previous = (
                StateEntry.objects.filter(
                    workflow_id=self.context.workflow_id, customer_id=self._customer_id(), key=key
                )
                .values_list("size_bytes", flat=True)
                .first()
            ) or 0
        self._storage_change(size - previous)
        with self._scoped():
            StateEntry.objects.bulk_create(
                [entry],
                update_conflicts=True,
                unique_fields=["workflow", "customer", "key"],
                update_fields=["value", "size_bytes", "expires_at", "updated_at"],
            )
        return None, ()

    def _state_delete(self, args: dict, deadline: float):
        key, scope = self._state_args(args)
        if scope == "INVOCATION":
            return self.context.invocation_state.pop(key, None) is not None, ()
        with self._scoped():
            entries = StateEntry.objects.filter(
                workflow_id=self.context.workflow_id, customer_id=self._customer_id(), key=key
            )
            freed = entries.values_list("size_bytes", flat=True).first() or 0
            deleted, _ = entries.delete()
        if deleted:
            self._storage_change(-freed)
        return deleted > 0, ()

    def _storage_change(self, delta: int) -> None:
        """Count growth against the storage quota (refusing it on a hard
        block), give back what shrinks."""
        if not delta:
            return
        from apps.billing.exceptions import QuotaExceeded, QuotaUnavailable
        from apps.billing.services import quota_consume, quota_release

        customer = self.context.customer.external_id if self.context.customer else None
        organization = self.context.organization
        if delta < 0:
            quota_release(
                organization=organization, meter="storage_bytes", customer_external_id=customer, amount=-delta
            )
            return
        try:
            quota_consume(organization=organization, meter="storage_bytes", customer_external_id=customer, amount=delta)
        except (QuotaExceeded, QuotaUnavailable) as exc:
            raise OpFailed(exc.message, code=exc.code, name="QuotaExceeded") from exc

    # --- fastn.db ----------------------------------------------------------------------------

    def _db_scope(self):
        from apps.workflows.sandbox_db import SandboxScope

        customer = self.context.customer
        # Data residency: a customer's fastn.db lives in its region's database.
        database = customer_database(customer) if customer is not None else "default"
        return SandboxScope(
            organization_id=self.context.organization.pk,
            schema_suffix=customer.id.hex if customer else "org",
            database=database,
        )

    def _db_call(self, args: dict, deadline: float, *, query: bool):
        from apps.workflows.sandbox_db import SandboxDbError, sandbox_execute, sandbox_query

        sql, params = args.get("sql"), args.get("params") or []
        if not isinstance(sql, str) or not sql.strip():
            raise OpFailed("fastn.db needs an SQL string.", code="invalid_argument", name="TypeError")
        if not isinstance(params, list):
            raise OpFailed("fastn.db params must be an array.", code="invalid_argument", name="TypeError")
        try:
            if query:
                return sandbox_query(self._db_scope(), sql, params, deadline=deadline), ()
            return sandbox_execute(self._db_scope(), sql, params, deadline=deadline), ()
        except SandboxDbError as exc:
            raise OpFailed(**_error_kwargs(exc.as_error_dict())) from exc

    def _db_query(self, args: dict, deadline: float):
        return self._db_call(args, deadline, query=True)

    def _db_execute(self, args: dict, deadline: float):
        return self._db_call(args, deadline, query=False)

    # --- connectors ------------------------------------------------------------------------------

    def _connector_call(self, args: dict, deadline: float):
        from apps.connectors.services import ConnectorRunError, connector_call_for_run

        slug, action, params = args.get("connector"), args.get("action"), args.get("params")
        if not isinstance(slug, str) or not isinstance(action, str):
            raise OpFailed("A connector call needs a connector slug and an action name.", code="invalid_argument")
        if params is not None and not isinstance(params, dict):
            raise OpFailed("Connector parameters must be an object.", code="invalid_argument", name="TypeError")
        # Not inside customer_scope: the call does outbound HTTP and must not
        # hold a transaction open, and its trace must be kept when it fails.
        # The service filters by the run's customer itself.
        try:
            result = connector_call_for_run(
                connector_slug=slug,
                action=action,
                params=params or {},
                customer_id=self.context.customer.id if self.context.customer else None,
                deadline=deadline,
                execution_id=self.context.execution_id,
                secrets=tuple(self._secrets_cache.values()),
            )
        except ConnectorRunError as exc:
            error = exc.as_error_dict()
            error["_secrets"] = tuple(getattr(exc, "secret_values", ()) or ())
            raise OpFailed(**_error_kwargs(error)) from exc
        self._local.status = result.status
        return result.value, tuple(result.secret_values)

    HANDLERS = {
        "secrets.get": _secrets_get,
        "state.get": _state_get,
        "state.set": _state_set,
        "state.delete": _state_delete,
        "db.query": _db_query,
        "db.execute": _db_execute,
        "connector.call": _connector_call,
    }


def _error_kwargs(error: dict) -> dict:
    error = dict(error)
    message = str(error.pop("message", "The call failed."))
    code = str(error.pop("code", "error"))
    return {"message": message, "code": code, **error}
