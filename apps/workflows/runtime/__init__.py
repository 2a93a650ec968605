"""The workflow sandbox: run one JavaScript workflow in QuickJS, safely, and return a complete result.

Pure Python + QuickJS; no Django. The Django layer supplies a `Host` (database,
state, secrets, connectors) and stores the `RunResult`.

    from apps.workflows.runtime import RunLimits, compile_check, run_workflow

    compile_check(code)  # raises CompileError(message, line, column)
    result = run_workflow(code, ctx={"input": {...}, "execution": {...}}, host=host,
                          limits=RunLimits(timeout_ms=60_000), redact=secret_values)
"""

from .engine import EngineUnavailable
from .hosts import DictHost, HostError, NullHost
from .interface import CompileError, Host, HostOp, HostResult, RunLimits, RunResult
from .redaction import MIN_SECRET_LENGTH, REDACTED, Redactor
from .sandbox import compile_check, run_workflow

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "CompileError",
    "DictHost",
    "EngineUnavailable",
    "Host",
    "HostError",
    "HostOp",
    "HostResult",
    "NullHost",
    "Redactor",
    "RunLimits",
    "RunResult",
    "compile_check",
    "run_workflow",
]
