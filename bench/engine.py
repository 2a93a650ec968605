"""The workflow engine's hot path, measured against a running stack.

    .venv/bin/python bench/engine.py [--requests 2000] [--web-workers 2]

Starts its own stack on a bench database (fastn_bench) and its own Redis key
prefix: gunicorn on 127.0.0.1:8765, one Celery worker for `instant` and one
for `standard`, with DEBUG off. Then measures:

1. Instant runs over HTTP (`POST /api/v1/workflows/{slug}/run`, a workflow
   that sums ten numbers): p50, p99 and requests/s at concurrency 1, 10, 50.
2. 40 Standard executions queued at once on one worker: seconds until all
   completed.
3. 1,000 Standard executions through the API (concurrency 10): seconds from
   the first request until all completed, executions/s.

Figures are printed and appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from common import ROOT, record, setup_django

PORT = 8765
SUM_TEN = "export default async function(ctx) {\n  return ctx.input.numbers.reduce((a, b) => a + b, 0);\n}\n"
PAYLOAD = json.dumps({"numbers": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}).encode()


def prepare() -> dict:
    """A bench organization with an Instant and a Standard workflow deployed."""
    from apps.accounts.principals import Principal
    from apps.core.models import Organization
    from apps.core.services import organization_create
    from apps.core.tenancy import organization_context
    from apps.settings.services import api_key_create
    from apps.workflows import services
    from apps.workflows.models import Workflow

    org = Organization.objects.filter(slug="engine-bench").first()
    if org is None:
        org = organization_create(
            name="Engine bench", owner_email="bench@engine.test", plan_slug="unlimited"
        ).organization
    with organization_context(org):
        system = Principal.system(organization=org, label="bench")
        _, key = api_key_create(actor=system, name="bench", kind="live")
        for slug, tier in (("sum-instant", "instant"), ("sum-standard", "standard")):
            workflow = Workflow.objects.filter(slug=slug).first()
            if workflow is None:
                workflow = services.workflow_create(actor=system, name=slug, slug=slug, code=SUM_TEN, tier=tier)
                services.workflow_publish(actor=system, workflow=workflow)
                services.workflow_deploy(
                    actor=system, workflow=workflow, version_number=1, environment_slug="production"
                )
    return {"account_id": str(org.account_id), "key": key, "organization": org}


class Stack:
    def __init__(self, web_workers: int, prefix: str) -> None:
        self.procs: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "DEBUG": "false",
            "FASTN_REDIS_PREFIX": prefix,
            "LOG_LEVEL": "WARNING",
        }
        self.web_workers = web_workers
        self.logs = Path("/tmp/fastn-bench-logs")
        self.logs.mkdir(exist_ok=True)

    def _start(self, name: str, args: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115
        self.procs.append(subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT))

    def start(self) -> None:
        bin_dir = Path(sys.executable).parent
        self._start(
            "web",
            [
                str(bin_dir / "gunicorn"),
                "fastn.wsgi",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                str(self.web_workers),
                "--threads",
                "16",
                "--worker-class",
                "gthread",
                "--log-level",
                "warning",
            ],
        )
        for queue in ("instant", "standard", "long"):
            self._start(
                queue,
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "fastn",
                    "worker",
                    "-Q",
                    queue,
                    "-n",
                    f"bench-{queue}@%h",
                    "-c",
                    "1" if queue == "long" else "2",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel",
                    "WARNING",
                ],
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("The bench stack did not become healthy in 60 s (see /tmp/fastn-bench-logs).")

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def load(path: str, headers: dict, *, total: int, concurrency: int) -> tuple[list[float], float, int]:
    """`total` POSTs over `concurrency` keep-alive connections. Returns
    latencies (ms), wall seconds, and how many answers were not 2xx."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    per_thread = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]

    def worker(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        mine = []
        bad = 0
        for _ in range(count):
            start = time.perf_counter()
            conn.request("POST", path, body=PAYLOAD, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - start) * 1000)
            if response.status >= 300:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    threads = [threading.Thread(target=worker, args=(n,)) for n in per_thread]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, failures[0]


def cpu_by_process() -> dict[str, float]:
    """CPU seconds used so far by each part of the stack (from /proc)."""
    groups: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if "gunicorn" in cmd and str(PORT) in cmd:
            group = "web"
        elif "celery" in cmd and "bench-" in cmd:
            group = "workers"
        elif cmd.startswith("postgres"):
            group = "postgres"
        elif "redis-server" in cmd:
            group = "redis"
        else:
            continue
        groups[group] = groups.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return groups


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def wait_all_finished(organization, ids: list, timeout: float = 300) -> float:
    from apps.core.tenancy import organization_context
    from apps.workflows.models import Execution

    deadline = time.monotonic() + timeout
    with organization_context(organization):
        while time.monotonic() < deadline:
            left = Execution.objects.filter(id__in=ids).exclude(status__in=["completed", "failed", "timeout"]).count()
            if left == 0:
                return time.perf_counter()
            time.sleep(0.01)
    raise RuntimeError(f"executions still unfinished after {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["FASTN_REDIS_PREFIX"] = prefix
    os.environ.setdefault("DEBUG", "false")
    setup_django()
    info = prepare()
    headers = {
        "x-fastn-access-key": info["key"],
        "x-fastn-account-id": info["account_id"],
        "content-type": "application/json",
    }
    stack = Stack(args.web_workers, prefix)
    stack.start()
    rows = ["| measure | value |", "|---|---|"]
    try:
        path = "/api/v1/workflows/sum-instant/run"
        load(path, headers, total=200, concurrency=4)  # warm up every process
        for concurrency in (1, 10, 50):
            total = args.requests if concurrency > 1 else min(args.requests, 1000)
            before = cpu_by_process()
            latencies, seconds, failed = load(path, headers, total=total, concurrency=concurrency)
            if concurrency == 10:
                after = cpu_by_process()
                split = ", ".join(
                    f"{name} {(after[name] - before.get(name, 0.0)) / total * 1000:.1f} ms"
                    for name in ("web", "workers", "postgres", "redis")
                    if name in after
                )
            rows.append(
                f"| Instant run over HTTP, concurrency {concurrency} ({total} requests, {failed} not 2xx) | "
                f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
                f"{total / seconds:.0f} requests/s |"
            )
            print(rows[-1], flush=True)
        rows.append(f"| CPU per Instant run at concurrency 10, by process | {split} |")
        print(rows[-1], flush=True)

        from apps.core.tenancy import organization_context
        from apps.workflows import services
        from apps.workflows.models import Workflow

        organization = info["organization"]
        with organization_context(organization):
            workflow = Workflow.objects.get(slug="sum-standard")
            started = time.perf_counter()
            ids = [
                services.execution_start(
                    actor=None, request=services.RunRequest(workflow=workflow, input={"numbers": list(range(10))})
                ).execution.id
                for _ in range(40)
            ]
        finished = wait_all_finished(organization, ids)
        rows.append(f"| 40 Standard executions on one worker (queued at once) | {finished - started:.2f} s |")
        print(rows[-1], flush=True)

        std_path = "/api/v1/workflows/sum-standard/run"
        started = time.perf_counter()
        latencies, seconds, failed = load(std_path, headers, total=1000, concurrency=10)
        from apps.workflows.models import Execution

        with organization_context(organization):
            ids = list(
                Execution.objects.filter(workflow_slug="sum-standard", created_at__gte=_since(started)).values_list(
                    "id", flat=True
                )
            )
        finished = wait_all_finished(organization, ids)
        rows.append(
            f"| 1,000 Standard executions through the API (concurrency 10, {failed} not 2xx) | accepted in "
            f"{seconds:.2f} s ({1000 / seconds:.0f}/s); all completed after {finished - started:.2f} s "
            f"({len(ids) / (finished - started):.0f} executions/s) |"
        )
        print(rows[-1], flush=True)
    finally:
        stack.stop()
    rows.append("")
    rows.append(
        f"Stack: gunicorn {args.web_workers} gthread workers × 16 threads; one Celery worker per queue (prefork, "
        "concurrency 2); PostgreSQL and Redis on the same 2-CPU machine; load generated from the same machine."
    )
    record("Workflow engine (bench/engine.py)", rows)


def _since(perf_started: float):
    import datetime as dt

    from django.utils import timezone

    return timezone.now() - dt.timedelta(seconds=time.perf_counter() - perf_started + 1)


if __name__ == "__main__":
    main()
