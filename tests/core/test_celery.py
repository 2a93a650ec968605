"""Tasks run in the schema of the organization that enqueued them, on real workers."""

import pytest
from django.db import connection

pytestmark = pytest.mark.workers


def test_tasks_run_in_the_enqueuing_organizations_schema(celery_workers, live_org):
    from apps.settings.models import Customer
    from tests.support_tasks import count_customers, current_schema

    first, second = live_org(), live_org()
    connection.set_tenant(first.organization)
    Customer.objects.create(external_id="one", name="One")
    Customer.objects.create(external_id="two", name="Two")
    result_first = current_schema.apply_async(queue="standard")
    count_first = count_customers.apply_async(queue="instant")
    connection.set_tenant(second.organization)
    result_second = current_schema.apply_async(queue="long")
    count_second = count_customers.apply_async(queue="standard")
    connection.set_schema_to_public()

    assert result_first.get(timeout=20) == first.organization.schema_name
    assert result_second.get(timeout=20) == second.organization.schema_name
    assert count_first.get(timeout=20) == 2
    assert count_second.get(timeout=20) == 0


def test_each_queue_has_its_own_worker_with_its_own_time_limit(celery_workers):
    from django.conf import settings

    from fastn.celery import app

    stats = app.control.inspect(timeout=2).stats() or {}
    queues = app.control.inspect(timeout=2).active_queues() or {}
    limits = {}
    for worker, info in stats.items():
        (queue,) = [q["name"] for q in queues[worker]]
        limits[queue] = info["pool"].get("timeouts")
    for queue in ("instant", "standard", "long"):
        expected = settings.CELERY_QUEUE_TIME_LIMITS[queue]
        assert limits[queue] == [expected["soft"], expected["hard"]]


@pytest.mark.parametrize("queue", ["instant", "standard", "long"])
def test_a_message_for_one_queue_lands_in_that_queue_only(queue, settings):
    """Queues bound to one shared exchange and key would each get a copy."""
    import uuid

    from celery import Celery

    from apps.core.redis import get_redis

    prefix = f"routing-{uuid.uuid4().hex[:8]}"
    # Not the current app: shared tasks would otherwise publish through it afterwards.
    probe = Celery("probe", set_as_current=False)
    probe.config_from_object("django.conf:settings", namespace="CELERY")
    probe.conf.broker_transport_options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": f"{prefix}:"}
    try:
        # Declare every queue first, as the three workers do at start-up.
        with probe.connection_for_write() as conn:
            for declared in probe.conf.task_queues:
                declared(conn.default_channel).declare()
        probe.send_task("tests.current_schema", queue=queue)
        redis = get_redis()
        lengths = {name: redis.llen(f"{prefix}:{name}") for name in ("instant", "standard", "long")}
        assert lengths == {name: int(name == queue) for name in lengths}
    finally:
        for key in get_redis().scan_iter(f"{prefix}:*"):
            get_redis().delete(key)


def test_workers_reuse_their_database_connection_across_tasks(celery_workers):
    """Celery's Django fixup would close it around every task (~10 ms each to reopen)."""
    from tests.support_tasks import backend_pid

    pids = [backend_pid.apply_async(queue="long").get(timeout=20) for _ in range(8)]
    # The long worker has two processes: at most two connections serve eight tasks.
    assert len(set(pids)) <= 2, pids
