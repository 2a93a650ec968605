"""gunicorn settings read by the Procfile's web process (`-c fastn/gunicorn.conf.py`)."""


def child_exit(server, worker) -> None:
    """A worker ended: its live gauges leave the multi-process metrics (apps.core.metrics)."""
    from apps.core.metrics import process_ended

    process_ended(worker.pid)
