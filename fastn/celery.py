"""The Celery application.

Tasks run in the schema of the organization that enqueued them:
tenant-schemas-celery stamps the current schema into each message's headers
and switches to it before the task runs.

Queues map to workflow tiers. One worker process serves all three (see the
Procfile and fastn/sizing.py); each execution task carries its tier's soft
and hard time limits from `CELERY_QUEUE_TIME_LIMITS`.
"""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn.settings.dev")

app = CeleryApp("fastn")
app.config_from_object("django.conf:settings", namespace="CELERY")


app.autodiscover_tasks()
