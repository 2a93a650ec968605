"""The low-level QuickJS layer: precompiled bytecode and a wall-clock interrupt.

The `quickjs` binding (quickjs-ng 0.17) offers `Context.eval`, calls into JS
and a CPU-time limit. Two things the sandbox needs are missing, and this
module adds them through `ctypes`, using only QuickJS's exported C API plus the
binding's object layout, which `_probe()` verifies before first use:

* **Bytecode.** Compiling source is slow in QuickJS (~50–100 µs per KB; the
  prelude alone would cost ~1.9 ms per run), so the prelude and each workflow
  are compiled once (`JS_Eval` with `COMPILE_ONLY`, then `JS_WriteObject`) and
  every run only loads bytecode (`JS_ReadObject` + `JS_EvalFunction`).
  Loading runs no workflow code: the workflow's body is wrapped in a function
  (see `source.py`), so the first line of author code runs later, through the
  binding, under the interrupt.

* **A wall-clock interrupt.** The binding's limit counts `clock()`, i.e. CPU
  time of the whole process, and restarts at every call: with two busy
  threads a 1 s limit fires after 0.5 s. The sandbox instead sets a generous
  CPU backstop and lets `Watchdog` fire the binding's own interrupt at the
  run's wall-clock deadline by zeroing the limit the interrupt handler
  compares against (`InterruptData.limit`).

If the probe fails (another quickjs-ng build), `EngineUnavailable` is raised
with a clear message rather than running with weaker guarantees.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cache

import _quickjs
from quickjs import Context, JSException

PRELUDE_FILENAME = "fastn:prelude"
WORKFLOW_FILENAME = "workflow.js"

_EVAL_TYPE_GLOBAL = 0
_EVAL_TYPE_MODULE = 1
_EVAL_FLAG_COMPILE_ONLY = 1 << 5
_WRITE_OBJ_BYTECODE = 1 << 0
_WRITE_OBJ_STRIP_SOURCE = 1 << 4
_READ_OBJ_BYTECODE = 1 << 0
_TAG_EXCEPTION = 6

_COMPILE_MEMORY_BYTES = 256 * 1024 * 1024
_COMPILE_STACK_BYTES = 2 * 1024 * 1024
_FRAME = re.compile(r"(?P<file>[\w.:<>-]+):(?P<line>\d+):(?P<column>\d+)")


class EngineUnavailable(RuntimeError):
    """The installed quickjs binding is not the one this layer was verified against."""


class JSCompileFailure(Exception):
    """QuickJS rejected source. `text` is `String(error)`, `stack` its frames."""

    def __init__(self, text: str, stack: str) -> None:
        super().__init__(text)
        self.text = text
        self.stack = stack

    def position(self, filename: str) -> tuple[int, int] | None:
        for match in _FRAME.finditer(self.stack):
            if match["file"] == filename:
                return int(match["line"]), int(match["column"])
        return None


class _JSValue(ctypes.Structure):
    # quickjs-ng on 64-bit targets: no NaN-boxing, a 16-byte struct.
    _fields_ = [("u", ctypes.c_int64), ("tag", ctypes.c_int64)]


class _RuntimeData(ctypes.Structure):
    """Mirror of the binding's `RuntimeData` (module.c), after PyObject_HEAD."""

    _fields_ = [
        ("head", ctypes.c_char * object.__basicsize__),
        ("runtime", ctypes.c_void_p),
        ("context", ctypes.c_void_p),
        ("has_time_limit", ctypes.c_int),
        ("time_limit", ctypes.c_long),  # clock_t
        ("thread_state", ctypes.c_void_p),
        ("interrupt_start", ctypes.c_long),
        ("interrupt_limit", ctypes.c_long),
    ]


@dataclass(frozen=True)
class _Native:
    lib: ctypes.CDLL

    def context_pointer(self, context: Context) -> int:
        pointer = _RuntimeData.from_address(id(context)).context
        if not pointer:
            raise EngineUnavailable("QuickJS context has no JSContext pointer")
        return pointer

    def take_exception(self, context: Context) -> JSCompileFailure:
        """Move the pending JS exception into a global the binding can read, then describe it."""
        pointer = self.context_pointer(context)
        exception = self.lib.JS_GetException(pointer)
        global_object = self.lib.JS_GetGlobalObject(pointer)
        self.lib.JS_SetPropertyStr(pointer, global_object, b"__fastnError", exception)  # takes ownership
        self.lib.JS_FreeValue(pointer, global_object)
        # join(): long strings may be ropes, which the binding cannot convert.
        text = context.eval("[String(globalThis.__fastnError)].join('')")
        stack = context.eval("[String((globalThis.__fastnError || {}).stack || '')].join('')")
        context.eval("delete globalThis.__fastnError")
        return JSCompileFailure(str(text), str(stack))


def _declare(lib: ctypes.CDLL) -> None:
    pointer, value, size = ctypes.c_void_p, _JSValue, ctypes.c_size_t
    signatures: dict[str, tuple[object, list[object]]] = {
        "JS_Eval": (value, [pointer, ctypes.c_char_p, size, ctypes.c_char_p, ctypes.c_int]),
        "JS_WriteObject": (pointer, [pointer, ctypes.POINTER(size), value, ctypes.c_int]),
        "JS_ReadObject": (value, [pointer, ctypes.c_char_p, size, ctypes.c_int]),
        "JS_EvalFunction": (value, [pointer, value]),
        "JS_FreeValue": (None, [pointer, value]),
        "JS_GetException": (value, [pointer]),
        "JS_GetGlobalObject": (value, [pointer]),
        "JS_SetPropertyStr": (ctypes.c_int, [pointer, value, ctypes.c_char_p, value]),
        "JS_GetRuntime": (pointer, [pointer]),
        "js_free": (None, [pointer, pointer]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def _probe(lib: ctypes.CDLL) -> None:
    """Check that `_RuntimeData` matches the binding's memory, without dereferencing a guess."""
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        raise EngineUnavailable("the sandbox needs a 64-bit build of quickjs-ng")
    context = Context()
    data = _RuntimeData.from_address(id(context))
    context.set_time_limit(7.25)
    clocks_per_second = data.time_limit / 7.25
    if data.has_time_limit != 1 or clocks_per_second not in (1_000_000, 1_000):
        raise EngineUnavailable("quickjs binding layout not recognised (time limit fields)")
    context.set_time_limit(-1)
    if data.has_time_limit != 0:
        raise EngineUnavailable("quickjs binding layout not recognised (has_time_limit)")
    if not data.runtime or not data.context or lib.JS_GetRuntime(data.context) != data.runtime:
        raise EngineUnavailable("quickjs binding layout not recognised (runtime/context pointers)")
    context.set_time_limit(3.5)
    context.eval("0")
    if data.interrupt_limit != int(3.5 * clocks_per_second):
        raise EngineUnavailable("quickjs binding layout not recognised (interrupt data)")


@cache
def native() -> _Native:
    """The verified ctypes view of the QuickJS library (once per process)."""
    try:
        lib = ctypes.CDLL(_quickjs.__file__)
        _declare(lib)
    except (OSError, AttributeError) as error:
        raise EngineUnavailable(f"cannot load the QuickJS C API from the quickjs binding: {error}") from error
    _probe(lib)
    return _Native(lib)


def new_context(*, memory_bytes: int, stack_bytes: int) -> Context:
    context = Context()
    context.set_memory_limit(memory_bytes)
    context.set_max_stack_size(stack_bytes)
    return context


def compile_bytecode(source: str, *, filename: str, module: bool, strip_source: bool = False) -> bytes:
    """Compile `source` without running any of it; raise `JSCompileFailure` on a syntax error.

    `strip_source` drops the text kept for `Function.prototype.toString`: the
    prelude's bytecode shrinks from ~80 KB to ~24 KB and loads ~45 µs faster.
    Line numbers stay.
    """
    engine = native()
    context = new_context(memory_bytes=_COMPILE_MEMORY_BYTES, stack_bytes=_COMPILE_STACK_BYTES)
    pointer = engine.context_pointer(context)
    encoded = source.encode("utf-8", "surrogatepass")  # c_char_p adds the NUL JS_Eval expects
    flags = (_EVAL_TYPE_MODULE if module else _EVAL_TYPE_GLOBAL) | _EVAL_FLAG_COMPILE_ONLY
    compiled = engine.lib.JS_Eval(pointer, encoded, len(encoded), filename.encode(), flags)
    if compiled.tag == _TAG_EXCEPTION:
        raise engine.take_exception(context)
    try:
        size = ctypes.c_size_t()
        flags = _WRITE_OBJ_BYTECODE | (_WRITE_OBJ_STRIP_SOURCE if strip_source else 0)
        buffer = engine.lib.JS_WriteObject(pointer, ctypes.byref(size), compiled, flags)
        if not buffer:
            raise engine.take_exception(context)
        try:
            return ctypes.string_at(buffer, size.value)
        finally:
            engine.lib.js_free(pointer, buffer)
    finally:
        engine.lib.JS_FreeValue(pointer, compiled)


def load_bytecode(context: Context, bytecode: bytes) -> None:
    """Instantiate and evaluate precompiled code in `context` (top-level code of a script or module).

    Runs outside the binding, so without the interrupt: only ever load code
    whose top level is known to be short (the prelude, a workflow's wrapper).
    """
    engine = native()
    pointer = engine.context_pointer(context)
    function = engine.lib.JS_ReadObject(pointer, bytecode, len(bytecode), _READ_OBJ_BYTECODE)
    if function.tag == _TAG_EXCEPTION:
        raise engine.take_exception(context)
    result = engine.lib.JS_EvalFunction(pointer, function)  # consumes `function`
    if result.tag == _TAG_EXCEPTION:
        raise engine.take_exception(context)
    engine.lib.JS_FreeValue(pointer, result)


def interrupt_limit_address(context: Context) -> int:
    """Address of the `clock_t` the binding's interrupt handler compares against; 0 there interrupts."""
    native()
    return ctypes.addressof(_RuntimeData.from_address(id(context))) + _RuntimeData.interrupt_limit.offset


def describe_js_exception(error: JSException) -> tuple[str, str]:
    """Split the binding's `"<String(error)>\\n<stack>"` text into (header, stack frames)."""
    text = str(error)
    marker = text.find("\n    at ")
    if marker < 0:
        return text.rstrip("\n"), ""
    return text[:marker], text[marker + 1 :]


@dataclass(order=True)
class Alarm:
    deadline: float
    sequence: int
    address: int = field(compare=False)
    cancelled: bool = field(default=False, compare=False)
    fired: bool = field(default=False, compare=False)


class Watchdog:
    """One daemon thread that interrupts running contexts at their wall-clock deadlines.

    `arm()` before a context runs any workflow code, `disarm()` before the
    context is released: after `disarm()` returns, the watchdog never touches
    that memory again. A fire between two JS calls is harmless (the binding
    resets the limit at the next call; the driver checks the deadline itself).
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # After fork the thread is gone and the lock may be held: start over.
        self._condition = threading.Condition()
        self._alarms: list[Alarm] = []
        self._live = 0
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, context: Context, deadline: float) -> Alarm:
        alarm = Alarm(deadline, next(self._sequence), interrupt_limit_address(context))
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fastn-sandbox-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._alarms, alarm)
            self._live += 1
            if self._alarms[0] is alarm:
                self._condition.notify()
        return alarm

    def disarm(self, alarm: Alarm) -> None:
        with self._condition:
            if not alarm.cancelled:
                alarm.cancelled = True
                self._live -= 1
                # Cancelled alarms wait in the heap until their deadline; compact
                # when they dominate, so hour-long deadlines cannot pile up.
                if len(self._alarms) > 1024 and len(self._alarms) > 4 * self._live:
                    self._alarms = [each for each in self._alarms if not each.cancelled]
                    heapq.heapify(self._alarms)

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._alarms and self._alarms[0].cancelled:
                    heapq.heappop(self._alarms)
                if not self._alarms:
                    self._condition.wait()
                    continue
                delay = self._alarms[0].deadline - time.monotonic()
                if delay > 0:
                    self._condition.wait(delay)
                    continue
                alarm = heapq.heappop(self._alarms)
                alarm.fired = True
                # An aligned 8-byte store: atomic on the 64-bit targets we accept.
                ctypes.c_long.from_address(alarm.address).value = 0


watchdog = Watchdog()
