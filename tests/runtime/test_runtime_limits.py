"""Limits: wall-clock timeout, memory, stack, promise jobs; timers; threads."""

from __future__ import annotations

import threading
import time

import pytest

from apps.workflows.runtime import NullHost, RunLimits, run_workflow

TIMEOUT_MS = 600
SLACK_S = 0.5  # "well under 1 s" past the timeout


def run(code: str, **limits):
    limits.setdefault("timeout_ms", TIMEOUT_MS)
    return run_workflow(code, ctx={"input": {}}, host=NullHost(), limits=RunLimits(**limits))


def assert_timed_out(result, started: float) -> None:
    elapsed = time.monotonic() - started
    assert result.status == "timeout", result.error
    assert result.output is None
    assert result.error["code"] == "timeout"
    assert result.error["name"] == "TimeoutError"
    assert TIMEOUT_MS / 1000 <= elapsed < TIMEOUT_MS / 1000 + SLACK_S


@pytest.mark.parametrize(
    "code",
    [
        "export default () => { while (true) {} }",
        "export default async () => { let n = 0; while (true) { n = (n + 1) % 7 } }",
        "export default async () => { while (true) await null }",
        "export default async () => { for (;;) await Promise.resolve(1) }",
        "export default async () => { await new Promise((resolve) => setTimeout(resolve, 60_000)) }",
        "export default async () => { setInterval(() => {}, 5); await new Promise(() => {}) }",
        "while (true) {}\nexport default () => 1",  # top-level code runs under the same limit
    ],
)
def test_runaway_code_times_out_at_the_deadline(code):
    started = time.monotonic()
    result = run(code)
    assert_timed_out(result, started)
    assert result.error["message"] == f"Execution timed out after {TIMEOUT_MS} ms"


def test_sync_loop_timeout_names_the_running_function():
    result = run("function spin() {\n  while (true) {}\n}\nexport default () => spin()\n")
    assert "at spin (workflow.js:" in result.error["stack"]
    assert "line" not in result.error  # QuickJS places a tight loop at the function's first line


def test_a_promise_that_can_never_settle_stops_early_as_a_timeout():
    started = time.monotonic()
    result = run("export default () => new Promise(() => {})", timeout_ms=5000)
    assert result.status == "timeout"
    assert result.error["code"] == "timeout"
    assert "can never settle" in result.error["message"]
    assert time.monotonic() - started < 1


def test_long_timeouts_use_the_wall_clock_even_when_threads_compete_for_cpu():
    # The binding's own limit counts the whole process's CPU time: two busy
    # threads would each be interrupted at half the timeout.
    results: list[tuple[str, float]] = []

    def spin() -> None:
        started = time.monotonic()
        result = run("export default () => { while (true) {} }")
        results.append((result.status, time.monotonic() - started))

    threads = [threading.Thread(target=spin) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == ["timeout"] * 3
    for _, elapsed in results:
        assert TIMEOUT_MS / 1000 <= elapsed < TIMEOUT_MS / 1000 + SLACK_S


def test_memory_bomb_fails_and_the_next_run_is_fine():
    result = run("export default () => { let a = []; while (true) a.push('x'.repeat(1e6)) }", timeout_ms=10_000)
    assert result.status == "failed"
    assert result.error["code"] == "memory_limit"
    assert result.error["message"] == "Memory limit exceeded (128 MB)"
    assert result.error["line"] == 1
    after = run("export default () => 'still serving'")
    assert (after.status, after.output) == ("completed", "still serving")


def test_memory_held_by_module_scope_still_lets_the_run_report_its_logs():
    code = (
        "const hoard = []\nexport default () => {\n  console.log('filling')\n"
        "  while (true) hoard.push('y'.repeat(1e5))\n}\n"
    )
    result = run(code, memory_bytes=16 * 1024 * 1024, timeout_ms=10_000)
    assert result.error["code"] == "memory_limit"
    assert result.error["message"] == "Memory limit exceeded (16 MB)"
    assert [entry["message"] for entry in result.logs] == ["filling"]


def test_memory_error_caught_by_the_workflow_is_its_own_business():
    code = """export default () => {
      try { let a = []; while (true) a.push('z'.repeat(1e5)) } catch (e) { return String(e) }
    }"""
    result = run(code, memory_bytes=16 * 1024 * 1024)
    assert (result.status, result.output) == ("completed", "InternalError: out of memory")


def test_output_too_big_for_memory_is_a_memory_limit_not_an_invalid_return():
    code = "export default () => { const s = 'x'.repeat(8e6); return [s, s, s, s] }"
    result = run(code, memory_bytes=32 * 1024 * 1024, max_output_bytes=100 * 1024 * 1024)
    assert result.error["code"] == "memory_limit"


def test_unbounded_recursion_is_a_stack_overflow_and_the_next_run_is_fine():
    result = run("function down(n) {\n  return down(n + 1) + 1\n}\nexport default () => down(0)\n")
    assert result.status == "failed"
    assert result.error["code"] == "stack_overflow"
    assert result.error["message"].startswith("Stack overflow: Maximum call stack size exceeded")
    assert result.error["line"] == 2
    assert run("export default () => 'ok'").output == "ok"


def test_reasonable_recursion_depth_fits_the_default_stack():
    code = "function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1) }\nexport default () => depth(1000)\n"
    assert run(code).output == 1000


def test_async_spin_is_capped_by_max_jobs():
    started = time.monotonic()
    result = run("export default async () => { while (true) await null }", max_jobs=50_000, timeout_ms=10_000)
    assert result.status == "failed"
    assert result.error["code"] == "job_limit"
    assert "50000" in result.error["message"]
    assert time.monotonic() - started < 5


def test_timers_fire_in_order_after_microtasks_and_clear_timeout_cancels():
    code = """export default async () => {
      const order = [];
      setTimeout(() => order.push('t30'), 30);
      setTimeout((a, b) => order.push(a + b), 10, 't', '10');
      setTimeout(() => order.push('t10-second'), 10);
      const cancelled = setTimeout(() => order.push('cancelled'), 5);
      clearTimeout(cancelled);
      setTimeout(() => order.push('t0'));
      Promise.resolve().then(() => order.push('microtask'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      return order;
    }"""
    result = run(code)
    assert result.output == ["microtask", "t0", "t10", "t10-second", "t30"]
    assert result.duration_ms >= 50


def test_set_interval_repeats_until_cleared():
    code = """export default async () => {
      let ticks = 0;
      const id = setInterval(() => { ticks += 1; if (ticks === 3) clearInterval(id) }, 5);
      await new Promise((resolve) => setTimeout(resolve, 80));
      return ticks;
    }"""
    assert run(code).output == 3


def test_microtasks_run_between_timer_callbacks():
    code = """export default async () => {
      const order = [];
      setTimeout(() => { order.push('a'); Promise.resolve().then(() => order.push('a-micro')) }, 5);
      setTimeout(() => order.push('b'), 5);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return order;
    }"""
    assert run(code).output == ["a", "a-micro", "b"]


def test_set_timeout_requires_a_function():
    result = run("export default () => setTimeout('code string', 1)")
    assert result.error["name"] == "TypeError"
    assert "callback" in result.error["message"]


def test_concurrent_runs_in_threads_are_independent():
    results: dict[int, object] = {}

    def work(index: int) -> None:
        code = f"""globalThis.leak = {index};
        export default async (ctx) => {{
          await new Promise((resolve) => setTimeout(resolve, 20));
          let total = 0;
          for (let i = 0; i < 200000; i++) total += i % 3;
          return [ctx.input.n, globalThis.leak, total];
        }}"""
        results[index] = run_workflow(code, ctx={"input": {"n": index}}, host=NullHost(), limits=RunLimits())

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, result in results.items():
        assert result.status == "completed", result.error
        assert result.output == [index, index, 199999]


def test_globals_do_not_leak_between_runs():
    run("globalThis.carried = 'over'\nexport default () => 1")
    assert run("export default () => typeof globalThis.carried").output == "undefined"


def test_watchdog_fires_only_for_armed_alarms():
    from apps.workflows.runtime import engine

    context = engine.new_context(memory_bytes=16 * 1024 * 1024, stack_bytes=1024 * 1024)
    cancelled = engine.watchdog.arm(context, time.monotonic() + 0.05)
    engine.watchdog.disarm(cancelled)
    due = engine.watchdog.arm(context, time.monotonic())
    time.sleep(0.1)
    engine.watchdog.disarm(due)
    assert (cancelled.fired, due.fired) == (False, True)
