"""Run one workflow in a fresh QuickJS context and return everything it produced.

The shape of a run:

1. The author's code is compiled once (per distinct source) to bytecode; see
   `source.py` for the rewrite and `engine.py` for the bytecode.
2. A fresh context gets a memory and a stack limit, a CPU backstop and a
   wall-clock `Watchdog` alarm at the deadline; the prelude and the workflow
   are loaded from bytecode and `control(START)` schedules the workflow.
3. The driver loop runs promise jobs, then asks the prelude for queued
   runtime calls (`fastn.*`), hands them to `Host.perform` as one batch and
   settles their promises; when nothing is queued it sleeps until the next
   timer. It ends when the workflow's promise settles, the deadline passes,
   the job cap is reached, or nothing is left that could ever settle it.
4. `control(FINISH)` returns the outcome, output and logs; everything is
   redacted before it leaves.

QuickJS refuses calls into Python while a time limit is set, which is why the
runtime API is a queue rather than Python callables. Only JSON text crosses
between the languages.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from quickjs import Context, JSException, Object, StackOverflow

from . import engine, source
from .interface import CompileError, Host, HostOp, HostResult, RunLimits, RunResult
from .redaction import Redactor

logger = logging.getLogger(__name__)

PRELUDE_SOURCE = Path(__file__).with_name("prelude.js").read_text(encoding="utf-8")

# `control(command, argument)` commands; keep in step with prelude.js.
_START, _POLL, _SETTLE, _FIRE, _FINISH = range(5)
_RUNNING, _COMPLETED, _FAILED = range(3)

_CPUS = os.cpu_count() or 1
# Room for reading logs and the outcome after the workflow hit a limit.
_FINISH_MEMORY_HEADROOM = 32 * 1024 * 1024
_FINISH_CPU_SECONDS = 2.0
_COMPILE_CACHE_SIZE = 256

_PRELUDE_FRAME = re.compile(rf"^.*\(?{re.escape(engine.PRELUDE_FILENAME)}:\d+:\d+\)?\n?", re.MULTILINE)
_FIRST_LINE_FRAME = re.compile(rf"{re.escape(engine.WORKFLOW_FILENAME)}:1:(\d+)")
_WORKFLOW_FRAME = re.compile(rf"{re.escape(engine.WORKFLOW_FILENAME)}:(\d+):(\d+)")
_ERROR_HEADER = re.compile(r"^([A-Za-z_$][\w$]*): (.*)$", re.DOTALL)


def compile_check(code: str) -> None:
    """Raise `CompileError` (message, 1-based line and column in the author's code) unless `code` compiles.

    Nothing of the workflow runs. The compiled bytecode is cached, so a run of
    the same code right after does not compile again.
    """
    _compile(code)


def run_workflow(
    code: str,
    *,
    ctx: Mapping[str, Any],
    host: Host,
    limits: RunLimits | None = None,
    redact: Iterable[str] = (),
) -> RunResult:
    """Run `export default function (ctx)` of `code` and return its complete result.

    Never raises for anything the workflow does: syntax errors, throws, limits
    and host failures all come back as a `RunResult`. Raises only for caller
    mistakes (`ctx` not JSON-serialisable) or an unusable engine
    (`engine.EngineUnavailable`). Safe to call from many threads at once; each
    run owns its context. `redact` values (and any `secret_values` the host
    returns) are replaced by `[REDACTED]` in output, logs and error.
    """
    started = time.monotonic()
    limits = limits or RunLimits()
    if not isinstance(ctx, Mapping):
        raise TypeError(f"ctx must be a mapping, not {type(ctx).__name__}")
    ctx_json = json.dumps(ctx, default=str, allow_nan=False, separators=(",", ":"))
    redactor = Redactor(redact)
    try:
        compiled = _compile(code)
    except CompileError as error:
        failure = {
            "code": "compile_error",
            "name": "SyntaxError",
            "message": error.message,
            "stack": "",
            "line": error.line,
            "column": error.column,
        }
        return RunResult("failed", None, _redact_error(redactor, failure), [], False, _elapsed_ms(started), 0)
    return _Run(compiled, ctx_json, host, limits, redactor, started).execute()


# ---- compilation -------------------------------------------------------------


@dataclass(frozen=True)
class _CompiledWorkflow:
    bytecode: bytes


_compiled: OrderedDict[str, _CompiledWorkflow] = OrderedDict()
_compiled_lock = threading.Lock()


@cache
def _prelude_bytecode() -> bytes:
    return engine.compile_bytecode(PRELUDE_SOURCE, filename=engine.PRELUDE_FILENAME, module=False, strip_source=True)


def _compile(code: str) -> _CompiledWorkflow:
    with _compiled_lock:
        hit = _compiled.get(code)
        if hit is not None:
            _compiled.move_to_end(code)
            return hit
    prepared = source.prepare(code)
    try:
        # The body alone, as a module: exact positions for the author, and the
        # proof that nothing in it can close the wrapper's function early.
        engine.compile_bytecode(prepared.body, filename=engine.WORKFLOW_FILENAME, module=True)
    except engine.JSCompileFailure as failure:
        raise _compile_error(failure, prepared, code, wrapped=False) from None
    try:
        bytecode = engine.compile_bytecode(prepared.wrapped, filename=engine.WORKFLOW_FILENAME, module=True)
    except engine.JSCompileFailure as failure:  # e.g. a top-level `let __fx`
        raise _compile_error(failure, prepared, code, wrapped=True) from None
    compiled = _CompiledWorkflow(bytecode)
    with _compiled_lock:
        _compiled[code] = compiled
        while len(_compiled) > _COMPILE_CACHE_SIZE:
            _compiled.popitem(last=False)
    return compiled


def _compile_error(
    failure: engine.JSCompileFailure, prepared: source.PreparedSource, code: str, *, wrapped: bool
) -> CompileError:
    line, column = failure.position(engine.WORKFLOW_FILENAME) or (1, 1)
    if wrapped and line == 1:
        column = _author_column(column)
    if line > prepared.line_count:  # past the end, e.g. a missing `}`
        line = prepared.line_count
        column = len(code.rsplit("\n", 1)[-1]) + 1
    message = failure.text
    if message.endswith("unexpected token in expression: ''"):  # QuickJS's words for end of input
        message = "SyntaxError: unexpected end of the code (is a closing bracket or brace missing?)"
    return CompileError(message, line, column)


def _author_column(column: int) -> int:
    """Columns on line 1 of the wrapper are shifted by its prefix."""
    return column - len(source.WRAPPER_PREFIX) if column > len(source.WRAPPER_PREFIX) else column


# ---- one run -------------------------------------------------------------------


class _Stopped(Exception):
    """Ends the driver loop with a Python-side verdict."""

    def __init__(self, status: str, code: str, name: str, message: str, frames: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error = _error(code, name, message, frames)


class _Run:
    def __init__(
        self,
        compiled: _CompiledWorkflow,
        ctx_json: str,
        host: Host,
        limits: RunLimits,
        redactor: Redactor,
        started: float,
    ) -> None:
        self.compiled = compiled
        self.ctx_json = ctx_json
        self.host = host
        self.limits = limits
        self.redactor = redactor
        self.started = started
        self.deadline = started + limits.timeout_ms / 1000
        self.ops_performed = 0
        self.unawaited_ops = 0
        self.stopped: _Stopped | None = None

    def execute(self) -> RunResult:
        context = engine.new_context(memory_bytes=self.limits.memory_bytes, stack_bytes=self.limits.stack_bytes)
        # The binding's limit counts the whole process's CPU time, which grows at
        # most cpu_count × wall time: this backstop never fires before the
        # deadline. The watchdog interrupts at the deadline itself.
        context.set_time_limit(self.limits.timeout_ms / 1000 * _CPUS + 1.0)
        alarm = engine.watchdog.arm(context, self.deadline)
        control: Object | None = None
        try:
            control = self._load(context)
            control(_START)
            self._drive(context, control)
        except _Stopped as stop:
            self.stopped = stop
        except JSException as error:
            self.stopped = self._uncaught(error)
        finally:
            engine.watchdog.disarm(alarm)
        return self._result(context, control)

    def _load(self, context: Context) -> Object:
        try:
            engine.load_bytecode(context, _prelude_bytecode())
            boot = context.get("__fastnBoot")
            config = {
                "maxLogLines": self.limits.max_log_lines,
                "maxLogBytes": self.limits.max_log_bytes,
                "maxOutputBytes": self.limits.max_output_bytes,
                "originMs": _elapsed_ms(self.started),
            }
            control: Object = boot(json.dumps(config), self.ctx_json)
            engine.load_bytecode(context, self.compiled.bytecode)
            return control
        except engine.JSCompileFailure as failure:
            # Loading only fails when the context is out of memory at once.
            name, message = _split_header(failure.text)
            if "out of memory" in message:
                raise self._memory_limit() from None
            raise _Stopped("failed", "js_error", name, message, failure.stack) from None

    def _drive(self, context: Context, control: Object) -> None:
        execute_job = context.execute_pending_job
        monotonic = time.monotonic
        deadline = self.deadline
        max_jobs = self.limits.max_jobs
        jobs = 0
        while True:
            while True:
                if monotonic() >= deadline:
                    raise self._timeout()
                if not execute_job():
                    break
                jobs += 1
                if jobs >= max_jobs:
                    raise _Stopped(
                        "failed",
                        "job_limit",
                        "JobLimitError",
                        f"Too many promise jobs: the limit of {max_jobs} was reached "
                        "(is a loop awaiting without waiting for anything?)",
                    )
            turn = json.loads(control(_POLL))
            if turn["state"] != _RUNNING:
                self.unawaited_ops = len(turn["ops"])
                return
            if turn["ops"]:
                control(_SETTLE, self._perform(turn["ops"]))
                continue
            wait_ms = turn["timer"]
            if wait_ms < 0:
                raise _Stopped(
                    "timeout",
                    "timeout",
                    "TimeoutError",
                    "Execution timed out: the workflow is waiting for a promise that can never settle "
                    "(no timers or runtime calls are pending), so it was stopped early instead of "
                    f"waiting {self.limits.timeout_ms} ms",
                )
            if wait_ms > 0:
                time.sleep(max(0.0, min(wait_ms / 1000, deadline - monotonic())))
                if monotonic() >= deadline:
                    raise self._timeout()
            control(_FIRE)

    def _perform(self, raw_ops: list[dict[str, Any]]) -> str:
        """Hand one turn's operations to the host; return the settle payload."""
        if time.monotonic() >= self.deadline:
            raise self._timeout()
        ops = [HostOp(id=op["id"], name=op["name"], args=op["args"]) for op in raw_ops]
        self.ops_performed += len(ops)
        try:
            results = self.host.perform(ops, deadline=self.deadline)
        except Exception as error:  # noqa: BLE001 — any host failure ends the run, and is logged here
            if time.monotonic() >= self.deadline:
                # Past the deadline this is most likely the worker's own time
                # limit firing inside the host (Celery's SoftTimeLimitExceeded).
                raise self._timeout() from None
            # The traceback may quote secrets (a query's parameters, say): redact it too.
            details = self.redactor.text("".join(traceback.format_exception(error)))
            logger.error("Workflow host failed performing %s:\n%s", [op.name for op in ops], details)
            raise _Stopped(
                "failed",
                "host_error",
                "HostError",
                f"The platform failed to perform a runtime call: {type(error).__name__}: {error}",
            ) from None
        if time.monotonic() >= self.deadline:
            raise self._timeout()
        by_id: dict[int, HostResult] = {}
        for result in results:
            self.redactor.add(result.secret_values)
            by_id[result.op_id] = result
        payload: list[list[Any]] = []
        for op in ops:
            result = by_id.get(op.id)
            if result is None:
                raise _Stopped(
                    "failed",
                    "host_error",
                    "HostError",
                    f"The platform returned no result for {op.name} (operation {op.id})",
                )
            if result.ok:
                payload.append([op.id, 1, result.value])
            else:
                payload.append([op.id, 0, _host_error_payload(result.error)])
        try:
            return json.dumps(payload, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise _Stopped(
                "failed", "host_error", "HostError", f"The platform returned a value that is not JSON: {error}"
            ) from None

    def _uncaught(self, error: JSException) -> _Stopped:
        """An exception that escaped JavaScript: an interrupt, no memory, or a throw in a microtask/timer."""
        header, frames = engine.describe_js_exception(error)
        name, message = _split_header(header)
        if name == "InternalError" and message.startswith("interrupted"):
            return self._timeout(frames)
        if name == "InternalError" and "out of memory" in message:
            return self._memory_limit(frames)
        if isinstance(error, StackOverflow):
            return self._stack_overflow(frames)
        return _Stopped("failed", "js_error", name, message, frames)

    def _timeout(self, frames: str = "") -> _Stopped:
        stop = _Stopped(
            "timeout", "timeout", "TimeoutError", f"Execution timed out after {self.limits.timeout_ms} ms", frames
        )
        # The stack names the function that was running, but QuickJS places a
        # tight loop at the function's first line: no position is better than a wrong one.
        stop.error.pop("line", None)
        stop.error.pop("column", None)
        return stop

    def _memory_limit(self, frames: str = "") -> _Stopped:
        return _Stopped(
            "failed",
            "memory_limit",
            "MemoryLimitError",
            f"Memory limit exceeded ({_size(self.limits.memory_bytes)})",
            frames,
        )

    def _stack_overflow(self, frames: str = "") -> _Stopped:
        return _Stopped(
            "failed",
            "stack_overflow",
            "RangeError",
            "Stack overflow: Maximum call stack size exceeded "
            f"(stack limit {_size(self.limits.stack_bytes)}; is there unbounded recursion?)",
            frames,
        )

    def _result(self, context: Context, control: Object | None) -> RunResult:
        meta: dict[str, Any] = {"state": _RUNNING, "error": None, "logs": [], "logsTruncated": False, "logsDropped": 0}
        output_text = "null"
        if control is not None:
            # The workflow may have left the heap full; reading the outcome is
            # the prelude's own bounded work.
            context.set_memory_limit(self.limits.memory_bytes + _FINISH_MEMORY_HEADROOM)
            context.set_time_limit(_FINISH_CPU_SECONDS)
            try:
                head, _, output_text = str(control(_FINISH)).partition("\n")
                meta = json.loads(head)
            except JSException:
                logger.warning("Could not read the outcome of a workflow run", exc_info=True)
                meta["logsTruncated"] = True
        status, output, error = self._verdict(meta, output_text)
        logs, truncated = self._logs(meta)
        return RunResult(
            status=status,
            output=self.redactor.value(output),
            error=_redact_error(self.redactor, error),
            logs=logs,
            logs_truncated=truncated,
            duration_ms=_elapsed_ms(self.started),
            ops=self.ops_performed,
        )

    def _verdict(self, meta: dict[str, Any], output_text: str) -> tuple[str, Any, dict[str, Any] | None]:
        # A workflow that settled wins over what happened after (a late job
        # interrupted, say): its outcome was decided in time.
        if meta["state"] == _COMPLETED:
            size = len(output_text.encode("utf-8", "surrogatepass"))
            if size > self.limits.max_output_bytes:
                return (
                    "failed",
                    None,
                    _error(
                        "output_too_large",
                        "RangeError",
                        f"The output is larger than the limit of {self.limits.max_output_bytes} bytes of JSON "
                        f"({size} bytes)",
                    ),
                )
            return "completed", json.loads(output_text), None
        if meta["state"] == _FAILED and meta["error"] is not None:
            failure = meta["error"]
            name, message, frames = failure["name"], failure["message"], failure["stack"]
            if name == "RangeError" and "call stack size exceeded" in message:
                return "failed", None, self._stack_overflow(frames).error
            if name == "InternalError" and "out of memory" in message:
                return "failed", None, self._memory_limit(frames).error
            return "failed", None, _error(failure["code"], name, message, frames)
        if self.stopped is not None:
            return self.stopped.status, None, self.stopped.error
        return "failed", None, _error("js_error", "Error", "The workflow ended without a result")

    def _logs(self, meta: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """Redact, enforce the exact byte budget, and mark truncation with one entry."""
        budget = self.limits.max_log_bytes
        kept: list[dict[str, Any]] = []
        truncated = bool(meta["logsTruncated"])
        dropped = int(meta["logsDropped"])
        entries = meta["logs"]
        for index, entry in enumerate(entries):
            message = self.redactor.text(entry["message"])
            if engine.PRELUDE_FILENAME in message:  # a logged stack: show the author's frames only
                message = _PRELUDE_FRAME.sub("", message).rstrip("\n")
            encoded = message.encode("utf-8", "surrogatepass")
            if len(encoded) > budget or len(kept) >= self.limits.max_log_lines:
                truncated = True
                if budget > 0 and len(kept) < self.limits.max_log_lines:
                    message = encoded[:budget].decode("utf-8", "ignore")
                    kept.append({"level": entry["level"], "message": message, "ts_ms": entry["ts_ms"]})
                    dropped += len(entries) - index - 1
                else:
                    dropped += len(entries) - index
                break
            budget -= len(encoded)
            kept.append({"level": entry["level"], "message": message, "ts_ms": entry["ts_ms"]})
        last_ts = kept[-1]["ts_ms"] if kept else 0
        if self.unawaited_ops:
            kept.append(
                {
                    "level": "warn",
                    "message": f"{self.unawaited_ops} runtime call(s) were started but not awaited before the "
                    "workflow finished, so they were not performed. Await every fastn.* call.",
                    "ts_ms": last_ts,
                }
            )
        if truncated:
            kept.append(
                {
                    "level": "warn",
                    "message": f"Log truncated: {dropped} more entries were not recorded (limits: "
                    f"{self.limits.max_log_lines} lines, {self.limits.max_log_bytes} bytes)",
                    "ts_ms": last_ts,
                }
            )
        return kept, truncated


# ---- helpers for results ----------------------------------------------------------


def _error(code: str, name: str, message: str, frames: str = "") -> dict[str, Any]:
    """An error dict with a Node-style stack whose frames point into the author's code."""
    frames = _PRELUDE_FRAME.sub("", frames or "")
    frames = _FIRST_LINE_FRAME.sub(
        lambda match: f"{engine.WORKFLOW_FILENAME}:1:{_author_column(int(match[1]))}", frames
    ).rstrip("\n")
    header = f"{name}: {message}" if message else name
    error: dict[str, Any] = {
        "code": code,
        "name": name,
        "message": message,
        "stack": f"{header}\n{frames}" if frames else header,
    }
    position = _WORKFLOW_FRAME.search(frames)
    if position:
        error["line"] = int(position[1])
        error["column"] = int(position[2])
    return error


def _redact_error(redactor: Redactor, error: dict[str, Any] | None) -> dict[str, Any] | None:
    if error is None or not redactor:
        return error
    return {key: redactor.text(value) if isinstance(value, str) else value for key, value in error.items()}


def _host_error_payload(error: dict[str, Any] | None) -> dict[str, Any]:
    error = dict(error or {})
    message = error.get("message")
    error["message"] = message if isinstance(message, str) and message else "Runtime call failed"
    return {key: error[key] for key in ("message", "name", "status", "body", "code") if key in error}


def _split_header(header: str) -> tuple[str, str]:
    match = _ERROR_HEADER.match(header)
    return (match[1], match[2]) if match else ("Error", header)


def _size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def _elapsed_ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
