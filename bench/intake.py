"""Events per second that `POST /hooks/{token}` accepts, and nothing lost when Redis restarts.

    .venv/bin/python bench/intake.py [--seconds 30] [--concurrency 20] [--web-workers 2] [--no-restart]
                                     [--worker-after]

Starts a stack of its own against its own database (fastn_bench_triggers)
and its own redis-server (another port, no persistence: a restart loses
every queued message, the worst case):

- gunicorn (gthread, `--web-workers` processes × 8 threads) serving the app,
- one Celery worker for the standard queue (2 processes),

(`--worker-after`: the worker starts only once the load is over, so the
figure is intake alone, not intake sharing the 2 CPUs with the runs it
causes), creates an organization with a deployed Standard workflow and a webhook
trigger, then sends POSTs to the hook URL from `--concurrency` threads
(httpx, one keep-alive client per thread) for `--seconds`. A third of the way
in, Redis is stopped for 3 s and started again (unless --no-restart).

Afterwards it drains: the event relay (apps.triggers, every 5 s under beat)
and the execution reaper (apps.workflows, every 15 s under beat) run here in
a loop until every accepted event is executed, or 180 s pass. It reports
accepted/s, latency percentiles (overall and while Redis was down), and
accepted vs executed vs failed vs lost; then appends the figures to
bench/RESULTS.md and deletes what it created.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = f"fastn-bench-intake-{uuid.uuid4().hex[:6]}"
DATABASE = "fastn_bench_triggers"
WARM_UP_SECONDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REDIS_PORT = free_port()
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
STACK_ENV = {
    "DJANGO_SETTINGS_MODULE": "fastn.settings.dev",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
    "REDIS_URL": REDIS_URL,
    "CELERY_BROKER_URL": REDIS_URL,
    "CELERY_RESULT_BACKEND": REDIS_URL,
    "FASTN_REDIS_PREFIX": PREFIX,
    # A message lost with Redis's memory is queued again after 10 s, not 60.
    "FASTN_EXECUTION_REQUEUE_AFTER_SECONDS": "10",
    "FASTN_TRIGGERS_RELAY_GRACE_SECONDS": "5",
}
os.environ.update(STACK_ENV)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import record, setup_django  # noqa: E402


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None


def start_worker(log_dir: Path) -> subprocess.Popen:
    env = {**os.environ, **STACK_ENV, "PYTHONUNBUFFERED": "1"}
    log = open(log_dir / "worker.log", "ab")  # noqa: SIM115 - kept open for the process's life
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "fastn", "worker", "-Q", "standard", "-n", f"bench-{PREFIX}@%h",
         "-c", "2", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


class Supervised:
    """Restart a process when it exits, as systemd (Restart=always) or Kubernetes would.

    Celery 5.7 / kombu 5.7 workers can die on a broker restart: a task's
    late ack on the dropped connection raises AttributeError('NoneType' object
    has no attribute 'hostname') and the worker reports "Unrecoverable error"
    and exits. Nothing is lost (the rows are in PostgreSQL and the reaper
    queues stranded executions again), but nothing runs until a worker is back.
    """

    def __init__(self, start) -> None:
        self._start = start
        self.proc = start()
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            if self.proc.poll() is not None:
                self.restarts += 1
                self.proc = self._start()

    def terminate(self) -> None:
        self._stopping.set()
        self.proc.terminate()

    def wait(self, timeout: float) -> None:
        self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.kill()


def start_web(web_port: int, web_workers: int, log_dir: Path) -> subprocess.Popen:
    env = {**os.environ, **STACK_ENV, "PYTHONUNBUFFERED": "1"}
    bin_dir = Path(sys.executable).parent
    web = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "fastn.wsgi", "--bind", f"127.0.0.1:{web_port}", "--workers", str(web_workers),
         "--threads", "8", "--worker-class", "gthread", "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=open(log_dir / "web.log", "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", web_port)) == 0:
                return web
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start; see " + str(log_dir / "web.log"))


def create_fixture():
    from apps.accounts.principals import Principal
    from apps.core.services import organization_create
    from apps.core.tenancy import organization_context
    from apps.triggers.services.triggers import trigger_create, trigger_url
    from apps.workflows.services import workflow_create, workflow_deploy, workflow_publish

    created = organization_create(
        name=f"Bench intake {PREFIX}", owner_email=f"{PREFIX}@bench.test", plan_slug="unlimited"
    )
    org = created.organization
    with organization_context(org):
        actor = Principal.system(organization=org, label="bench")
        workflow = workflow_create(
            actor=actor, name="Intake bench", code="export default async (ctx) => ({n: ctx.input.n})", tier="standard"
        )
        workflow_publish(actor=actor, workflow=workflow)
        workflow_deploy(actor=actor, workflow=workflow, version_number=1, environment_slug="production")
        trigger = trigger_create(actor=actor, type="webhook", workflow=workflow.slug, config={}).trigger
        path = "/hooks/" + trigger_url(trigger).rsplit("/hooks/", 1)[1]
    return org, trigger, path


def load(url: str, seconds: float, concurrency: int, redis: RedisServer, restart: bool):
    import httpx

    results: list[tuple[float, float, int]] = []  # (start offset, latency s, status)
    lock = threading.Lock()
    counter = iter(range(10**9))
    started = time.monotonic()
    stop_at = started + seconds
    outage: dict[str, float] = {}

    def sender() -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop_at:
                n = next(counter)
                begin = time.monotonic()
                try:
                    status = client.post(url, json={"n": n}).status_code
                except httpx.HTTPError:
                    status = 0
                end = time.monotonic()
                with lock:
                    results.append((begin - started, end - begin, status))

    def restarter() -> None:
        time.sleep(seconds / 3)
        outage["from"] = time.monotonic() - started
        redis.stop()
        time.sleep(3)
        redis.start()
        outage["to"] = time.monotonic() - started

    threads = [threading.Thread(target=sender) for _ in range(concurrency)]
    if restart:
        threads.append(threading.Thread(target=restarter))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.monotonic() - started, outage


def drain(org, trigger, accepted: int, timeout: float = 180.0) -> dict:
    from apps.core.tenancy import organization_context
    from apps.triggers.models import Event
    from apps.triggers.services.events import broker_reset, events_relay
    from apps.workflows.runner import executions_reap

    deadline = time.monotonic() + timeout
    started = time.monotonic()
    with organization_context(org):
        while True:
            broker_reset()
            events_relay()
            executions_reap()
            counts = {
                status: Event.objects.filter(trigger=trigger, status=status).count() for status in Event.Status.values
            }
            settled = counts["executed"] + counts["failed"] + counts["rejected"]
            if settled >= accepted or time.monotonic() > deadline:
                counts["drain_seconds"] = round(time.monotonic() - started, 1)
                return counts
            time.sleep(2)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--no-restart", action="store_true")
    parser.add_argument("--worker-after", action="store_true", help="start the Celery worker after the load")
    args = parser.parse_args()

    redis = RedisServer(REDIS_PORT)
    redis.start()
    setup_django(DATABASE)
    org, trigger, path = create_fixture()
    web_port = free_port()
    log_dir = Path(f"/tmp/fastn-bench-intake-{PREFIX}")
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = [start_web(web_port, args.web_workers, log_dir)]
    worker = None
    if not args.worker_after:
        worker = Supervised(lambda: start_worker(log_dir))
        procs.append(worker)
    try:
        import httpx

        url = f"http://127.0.0.1:{web_port}{path}"
        warm = httpx.post(url, json={"n": -1}, timeout=30)
        assert warm.status_code == 202, warm.text
        results, elapsed, outage = load(url, args.seconds, args.concurrency, redis, not args.no_restart)
        if args.worker_after:
            worker = Supervised(lambda: start_worker(log_dir))
            procs.append(worker)
        accepted = sum(1 for _, _, status in results if status == 202) + 1  # + the first request
        refused = [status for _, _, status in results if status != 202]
        # Rates and latencies leave out the first seconds (connections to PostgreSQL and Redis
        # being opened by every thread); every request counts for accepted vs executed.
        steady = [r for r in results if r[0] >= WARM_UP_SECONDS]
        steady_span = max(begin + latency for begin, latency, _ in results) - WARM_UP_SECONDS
        latencies = [latency * 1000 for _, latency, status in steady if status == 202]
        during = [
            latency * 1000
            for begin, latency, status in results
            if outage and outage["from"] <= begin <= outage["to"] and status == 202
        ]
        counts = drain(org, trigger, accepted)
        restart_note = f"stopped at {outage['from']:.1f} s, back at {outage['to']:.1f} s" if outage else "none"
        slowest = sorted(results, key=lambda r: -r[1])[:5]
        slow_note = ", ".join(f"{latency * 1000:.0f} ms at {begin:.1f} s" for begin, latency, _ in slowest)
        lost = accepted - counts["executed"] - counts["failed"]
        lines = [
            f"Stack: gunicorn {args.web_workers} × 8 threads (gthread) + 1 Celery worker (standard, 2 processes"
            f"{', started after the load: intake alone' if args.worker_after else ', running during the load'}), "
            f"a redis-server of its own on port {REDIS_PORT} without persistence; load from {args.concurrency} "
            f"threads (httpx keep-alive) in the same machine for {args.seconds:.0f} s.",
            f"Redis restart: {restart_note}.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| requests sent | {len(results) + 1} |",
            f"| accepted (202) | {accepted} |",
            f"| refused or failed requests | {len(refused)} {sorted(set(refused)) if refused else ''} |",
            f"| accepted per second (after {WARM_UP_SECONDS} s of warm-up) | {len(latencies) / steady_span:.0f} |",
            f"| accepted per second (whole run) | {accepted / elapsed:.0f} |",
            f"| latency p50 / p95 / p99 / max ms | {pct(latencies, 0.5):.1f} / {pct(latencies, 0.95):.1f} / "
            f"{pct(latencies, 0.99):.1f} / {max(latencies):.1f} |",
            f"| accepted while Redis was down | {len(during)} (p50 {pct(during, 0.5):.1f} ms, max "
            f"{max(during) if during else 0:.1f} ms) |",
            f"| executed after the drain | {counts['executed']} |",
            f"| failed | {counts['failed']} |",
            f"| lost (accepted, never executed or failed) | {lost} |",
            f"| drain (relay + reaper until settled) | {counts['drain_seconds']} s |",
            f"| worker restarts by the supervisor | {worker.restarts if worker else 0} |",
            f"| slowest requests (latency at start offset) | {slow_note} |",
            "",
            f"Event states at the end: { ({k: v for k, v in counts.items() if k != 'drain_seconds' and v}) }. "
            f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work on this "
            "machine counts too).",
        ]
        record("Webhook intake: POST /hooks/{token} (bench/intake.py)", lines)
        if lost:
            sys.exit(f"{lost} accepted events were lost")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.stop()
        from django.db import connection

        connection.set_schema_to_public()
        org.delete(force_drop=True)
        from apps.accounts.models import User

        User.objects.filter(email=f"{PREFIX}@bench.test").delete()


if __name__ == "__main__":
    main()
