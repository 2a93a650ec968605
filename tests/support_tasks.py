"""Celery tasks that exist only for tests; workers started by the
`celery_workers` fixture import this module (`--include`)."""

from celery import shared_task
from django.db import connection


@shared_task(name="tests.current_schema")
def current_schema() -> str:
    return connection.schema_name


@shared_task(name="tests.count_customers")
def count_customers() -> int:
    from apps.settings.models import Customer

    return Customer.objects.count()


@shared_task(name="tests.backend_pid")
def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]
