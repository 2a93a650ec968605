"""Benchmark the workflow sandbox: the cost of one execution, end to end.

    .venv/bin/python bench/sandbox.py [--runs 2000]

Each execution is a full `run_workflow`: fresh QuickJS context, limits,
prelude, workflow, driver loop, result. The host answers from memory, so the
figures are the sandbox's own overhead. Prints mean/p50/p99 µs and runs/s, and
appends a dated section to bench/RESULTS.md. Target: ≤ 1 ms per execution.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.workflows.runtime import DictHost, RunLimits, run_workflow  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
LIMITS = RunLimits(timeout_ms=10_000)

SUM_TEN = """export default async function (ctx) {
  let sum = 0;
  for (const n of ctx.input.numbers) sum += n;
  return { sum };
}"""
SUM_CTX = {"input": {"numbers": list(range(1, 11))}, "execution": {"id": "bench", "attempt": 1}}

THREE_OPS = """export default async function (ctx) {
  const [cursor, token, contact] = await Promise.all([
    fastn.state.get('cursor'),
    fastn.secrets.get('API_TOKEN'),
    fastn.connector.crm.getContact({ id: ctx.input.id }),
  ]);
  return { cursor, token, contact };
}"""
THREE_CTX = {"input": {"id": 7}}


def three_ops_host() -> DictHost:
    return DictHost(
        secrets={"API_TOKEN": "bench-secret-token"},
        connectors={"crm.getContact": lambda params: {"id": params["id"], "email": "a@example.com"}},
        state={("ORG", "cursor"): 41},
    )


def measure(code: str, ctx: dict, make_host, runs: int) -> dict[str, float]:
    host = make_host()
    for _ in range(50):  # compile once, warm caches
        result = run_workflow(code, ctx=ctx, host=host, limits=LIMITS)
        assert result.status == "completed", result.error
    samples: list[float] = []
    started = time.perf_counter()
    for _ in range(runs):
        host = make_host()
        begin = time.perf_counter()
        result = run_workflow(code, ctx=ctx, host=host, limits=LIMITS)
        samples.append(time.perf_counter() - begin)
        if result.status != "completed":
            raise SystemExit(f"benchmark run failed: {result.error}")
    total = time.perf_counter() - started
    samples.sort()
    return {
        "mean": statistics.fmean(samples) * 1e6,
        "p50": samples[len(samples) // 2] * 1e6,
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e6,
        "runs_per_s": runs / total,
    }


def threaded_throughput(code: str, ctx: dict, make_host, runs: int, threads: int) -> float:
    per_thread = runs // threads

    def work() -> None:
        for _ in range(per_thread):
            run_workflow(code, ctx=ctx, host=make_host(), limits=LIMITS)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    cases = [
        ("sum of ten numbers from ctx.input", SUM_TEN, SUM_CTX, lambda: DictHost()),
        ("three host ops in one batch (Promise.all)", THREE_OPS, THREE_CTX, three_ops_host),
    ]
    rows = []
    for label, code, ctx, make_host in cases:
        figures = measure(code, ctx, make_host, args.runs)
        figures["threads2"] = threaded_throughput(code, ctx, make_host, args.runs, threads=2)
        rows.append((label, figures))

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Workflow sandbox (bench/sandbox.py) — {now}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "",
        f"quickjs-ng {metadata.version('quickjs-ng')}; {args.runs} executions per workflow, each a full "
        "`run_workflow` (fresh context, prelude, driver loop, result) against an in-memory host; "
        f"load average at start {load_before:.2f}.",
        "",
        "| workflow | mean µs | p50 µs | p99 µs | runs/s (1 thread) | runs/s (2 threads) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, figures in rows:
        lines.append(
            f"| {label} | {figures['mean']:.0f} | {figures['p50']:.0f} | {figures['p99']:.0f} "
            f"| {figures['runs_per_s']:.0f} | {figures['threads2']:.0f} |"
        )
    section = "\n".join(lines) + "\n"
    print(section)

    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nEach section is appended by a script in bench/.\n")
    existing = RESULTS.read_text(encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as results:
        results.write(("" if existing.endswith("\n\n") else "\n") + section)
    print(f"appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
