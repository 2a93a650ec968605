"""The Celery application.

Tasks run in the schema of the organization that enqueued them:
tenant-schemas-celery stamps the current schema into each message's headers
and switches to it before the task runs.

Queues map to workflow tiers. One worker process serves all three (see the
Procfile and fastn/sizing.py); each execution task carries its tier's soft
and hard time limits from `CELERY_QUEUE_TIME_LIMITS`.
"""

import os

from celery import bootsteps
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn.settings.dev")

app = CeleryApp("fastn")
app.config_from_object("django.conf:settings", namespace="CELERY")


app.autodiscover_tasks()


class ThreadedBeat(bootsteps.StartStopStep):
    """Celery beat as a thread of the worker (settings.FASTN_WORKER_BEAT).

    Celery's own `--beat` forks a process for it, which costs as much memory
    as a worker; the scheduler only sends a few messages a minute.
    """

    label = "Beat (thread)"
    conditional = True

    def __init__(self, worker, **kwargs):
        from django.conf import settings

        self.enabled = bool(getattr(settings, "FASTN_WORKER_BEAT", False)) and not getattr(worker, "beat", None)
        super().__init__(worker, **kwargs)

    def create(self, worker):
        from celery.beat import EmbeddedService

        return EmbeddedService(worker.app, thread=True, scheduler_cls=worker.app.conf.beat_scheduler)


app.steps["worker"].add(ThreadedBeat)
