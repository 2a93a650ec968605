"""The sandbox's contract with the rest of Fastn: limits, host operations, results.

Nothing here knows about Django. The Django layer implements `Host` (database,
state, secrets, connectors) and turns `RunResult` into an execution row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

MB = 1024 * 1024


@dataclass(frozen=True)
class RunLimits:
    """Resource limits of one run.

    `timeout_ms` is wall-clock time for the whole run, host operations
    included. `stack_bytes` is QuickJS's C-stack budget; the calling thread
    needs at least that much stack plus ~512 KB for Python (glibc threads have
    8 MB). `max_jobs` caps the promise jobs (microtasks) one run may execute,
    about one per `await`: it stops `while (true) await null` (~1–2 µs a job)
    from burning a long-tier worker's CPU for hours, while leaving room for
    millions of real awaits; the Django layer may raise it for long tiers.
    """

    timeout_ms: int = 60_000
    memory_bytes: int = 128 * MB
    stack_bytes: int = 2 * MB
    max_output_bytes: int = 1 * MB
    max_log_lines: int = 1000
    max_log_bytes: int = 256 * 1024
    max_jobs: int = 10_000_000

    def __post_init__(self) -> None:
        for name in (
            "timeout_ms",
            "memory_bytes",
            "stack_bytes",
            "max_output_bytes",
            "max_log_lines",
            "max_log_bytes",
            "max_jobs",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"RunLimits.{name} must be a positive integer, not {value!r}")


@dataclass
class HostOp:
    """One runtime-API call queued by the workflow (`fastn.db.query(...)` → `db.query`).

    Names today: `db.query`, `db.execute`, `state.get`, `state.set`,
    `state.delete`, `secrets.get`, `connector.call`. `args` is JSON-decoded and
    was validated for shape in JavaScript, but comes from untrusted code: the
    host validates again and enforces every permission.
    """

    id: int
    name: str
    args: dict[str, Any]


@dataclass
class HostResult:
    """The outcome of one `HostOp`.

    When `ok`, `value` (JSON-serialisable) resolves the workflow's promise.
    Otherwise `error` — `{"message", "name"?, "status"?, "body"?, "code"?}` —
    rejects it with a JavaScript `Error` carrying those fields. `secret_values`
    are redacted from the run's output, logs and error from then on.
    """

    op_id: int
    ok: bool
    value: Any = None
    error: dict[str, Any] | None = None
    secret_values: tuple[str, ...] = ()


class Host(Protocol):
    """Performs runtime-API calls for a run, on the run's own thread.

    `perform` receives every operation the workflow queued in one turn (so
    `Promise.all` of three calls arrives as one batch of three; the host may run
    them concurrently) and returns one `HostResult` per operation, in any order.
    It must return by `deadline` (a `time.monotonic()` value): the run is
    declared timed out as soon as it returns late. An exception escaping
    `perform` fails the run with code `host_error`; an expected failure (missing
    secret, HTTP 404) belongs in a `HostResult` with `ok=False` instead.
    """

    def perform(self, ops: list[HostOp], *, deadline: float) -> list[HostResult]: ...


class CompileError(Exception):
    """The workflow's source does not compile. `line`/`column` are 1-based, in the author's code."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"


@dataclass
class RunResult:
    """Everything a run produced.

    `status` is `completed`, `failed` or `timeout`. `output` is the returned
    JSON value when completed, else None. `error`, when not completed, holds
    `message`, `name`, `stack`, `code` and, where known, `line`/`column` of the
    throw site in the author's code. Codes: `js_error`, `compile_error`,
    `invalid_workflow`, `invalid_return`, `output_too_large`, `timeout`,
    `memory_limit`, `stack_overflow`, `job_limit`, `host_error`.
    Every secret known to the run is already redacted from all of it.
    """

    status: str
    output: Any
    error: dict[str, Any] | None
    logs: list[dict[str, Any]] = field(default_factory=list)
    logs_truncated: bool = False
    duration_ms: float = 0.0
    ops: int = 0
