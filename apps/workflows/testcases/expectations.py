"""What a test case expects, and whether a run met it.

`expect` is `{"status"?, "output"?, "assert"?}`:

* `status`: `completed` (the default), `failed` or `timeout`.
* `output`: when an object, every key it names must be equal in the output
  (API.md); any other JSON value must equal the output as a whole.
* `assert`: the source of a small JavaScript function, run in the sandbox
  after the workflow: `(result, input) => …` where `result` is
  `{status, output, error, logs}`. It fails the case by throwing, by
  returning `false`, or by returning a string (the failure message);
  anything else passes.
"""

from __future__ import annotations

import json
from typing import Any

from apps.core.errors import InvalidInput
from apps.workflows.runtime import CompileError, NullHost, RunLimits, compile_check, run_workflow

STATUSES = ("completed", "failed", "timeout")
MAX_ASSERT_CHARS = 10_000
ASSERT_TIMEOUT_MS = 1_000

# The assertion is a function expression; it is called with plain JSON copies.
ASSERT_WRAPPER = """export default async function (ctx) {{
  const check = (
{source}
  );
  if (typeof check !== "function") throw new TypeError("expect.assert must be a function");
  return {{ verdict: await check(ctx.input.result, ctx.input.input) }};
}}
"""


def validate_expect(expect: Any) -> dict:
    """The expectation, checked (400 naming `expect.<field>`); the assertion must compile."""
    if expect is None:
        return {}
    if not isinstance(expect, dict):
        raise InvalidInput.for_field("expect", "Must be an object: {status?, output?, assert?}.")
    unknown = sorted(set(expect) - {"status", "output", "assert"})
    if unknown:
        raise InvalidInput.for_field(f"expect.{unknown[0]}", "Unknown field: use status, output or assert.")
    if "status" in expect and expect["status"] not in STATUSES:
        raise InvalidInput.for_field("expect.status", "Must be completed, failed or timeout.")
    if "assert" in expect:
        source = expect["assert"]
        if not isinstance(source, str) or not source.strip():
            raise InvalidInput.for_field("expect.assert", "Must be the source of a JavaScript function.")
        if len(source) > MAX_ASSERT_CHARS:
            raise InvalidInput.for_field("expect.assert", f"May be at most {MAX_ASSERT_CHARS} characters.")
        try:
            compile_check(ASSERT_WRAPPER.format(source=source))
        except CompileError as exc:
            # The wrapper puts the source on line 3.
            raise InvalidInput.for_field(
                "expect.assert", f"Does not compile: {exc.message} (line {max(exc.line - 2, 1)})."
            ) from exc
    return dict(expect)


def output_matches(expected: Any, output: Any) -> list[str]:
    """Failures of the output check: one per key that differs."""
    if isinstance(expected, dict):
        if not isinstance(output, dict):
            return [f"Expected an object output with {sorted(expected)}, got {_short(output)}."]
        return [
            f"output.{key}: expected {_short(value)}, got {_short(output[key]) if key in output else 'nothing'}."
            for key, value in expected.items()
            if key not in output or output[key] != value
        ]
    if expected != output:
        return [f"Expected output {_short(expected)}, got {_short(output)}."]
    return []


def evaluate(*, expect: dict, outcome: dict, input: Any, unmocked: list[str]) -> list[str]:
    """Every reason the run does not meet the expectation (empty: passed)."""
    failures = [f"Unmocked connector call {name}: add a mock for it." for name in unmocked]
    wanted = expect.get("status", "completed")
    if outcome["status"] != wanted:
        message = f"Expected status {wanted}, got {outcome['status']}"
        error = outcome.get("error") or {}
        if error.get("message") and not unmocked:
            message += f": {error['message']}"
        failures.append(message + ".")
    if "output" in expect and outcome["status"] == "completed":
        failures.extend(output_matches(expect["output"], outcome.get("output")))
    elif "output" in expect and wanted == "completed":
        failures.append("No output to compare: the run did not complete.")
    if expect.get("assert"):
        failures.extend(run_assertion(expect["assert"], outcome=outcome, input=input))
    return failures


def run_assertion(source: str, *, outcome: dict, input: Any) -> list[str]:
    """Run the assertion function in the sandbox (no runtime API, 1 s)."""
    result_view = {key: outcome.get(key) for key in ("status", "output", "error", "logs")}
    run = run_workflow(
        ASSERT_WRAPPER.format(source=source),
        ctx={"input": {"result": result_view, "input": input}, "headers": {}, "execution": {}},
        host=NullHost(),
        limits=RunLimits(timeout_ms=ASSERT_TIMEOUT_MS, memory_bytes=32 * 1024 * 1024),
    )
    if run.status != "completed":
        message = (run.error or {}).get("message") or run.status
        return [f"Assertion failed: {message}"]
    verdict = (run.output or {}).get("verdict")
    if verdict is False:
        return ["Assertion returned false."]
    if isinstance(verdict, str):
        return [f"Assertion failed: {verdict}"]
    return []


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
