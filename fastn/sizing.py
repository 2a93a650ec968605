"""How many processes, threads and slots the stack uses, from the machine it runs on.

Every figure has an environment variable that wins (README, "Processes and
sizes"). The defaults follow the CPUs this process may use and the memory it
may use (the cgroup's limit in a container, else the machine's), measured on
a 2-CPU machine (bench/side_by_side.py): one web process saturates a CPU with
Instant runs, PostgreSQL and Redis want the other, and every extra Python
process that carries Django costs ~110 MB.
"""

from __future__ import annotations

import os
from pathlib import Path

WEB_PROCESS_MB = 256  # a web process under load, with headroom


def cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def memory_mb() -> int:
    """Memory this process may use: the cgroup v2 limit when there is one, else MemTotal."""
    limit = None
    try:
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if raw.isdigit():
            limit = int(raw) // (1024 * 1024)
    except OSError:
        pass
    total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) // 1024
                break
    except OSError:
        pass
    candidates = [value for value in (limit, total) if value]
    return min(candidates) if candidates else 2048


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def web_workers() -> int:
    """gunicorn worker processes (WEB_CONCURRENCY): one per two CPUs, within a quarter of the memory."""
    configured = _env_int("WEB_CONCURRENCY")
    if configured is not None:
        return max(1, configured)
    return max(1, min(cpus() // 2, memory_mb() // 4 // WEB_PROCESS_MB))


def web_threads() -> int:
    """Threads per gunicorn worker (WEB_THREADS): requests mostly wait (database, Redis, QuickJS
    runs that release the GIL), so a few per CPU."""
    configured = _env_int("WEB_THREADS")
    return max(1, configured) if configured is not None else max(8, 4 * cpus())


def instant_inline_slots() -> int:
    """Instant runs at once in one web process (FASTN_INSTANT_INLINE_SLOTS); more go to the queue.

    As many as the process has request threads: a request waiting for a
    queued run holds its thread just as long, and QuickJS releases the GIL."""
    configured = _env_int("FASTN_INSTANT_INLINE_SLOTS")
    return max(0, configured) if configured is not None else web_threads()


def worker_pool() -> str:
    """Celery's pool (FASTN_WORKER_POOL): threads by default, prefork for a process per run."""
    return os.environ.get("FASTN_WORKER_POOL", "").strip() or "threads"


def worker_concurrency() -> int:
    """Runs at once in one Celery worker (FASTN_WORKER_CONCURRENCY). Threads mostly wait on
    connectors and the database; prefork children cost a process each."""
    configured = _env_int("FASTN_WORKER_CONCURRENCY")
    if configured is not None:
        return max(1, configured)
    return max(8, 4 * cpus()) if worker_pool() == "threads" else cpus()
