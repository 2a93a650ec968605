"""fastn.state counts its bytes against the storage quota; a measurement
reconciles the levels with state and fastn.db."""

import time

import pytest

pytestmark = pytest.mark.django_db


def host_for(org, workflow, customer=None):
    from apps.workflows.host import ExecutionHost, RunContext

    return ExecutionHost(RunContext(org.organization, workflow.id, customer))


def op(host, name, **args):
    from apps.workflows.runtime import HostOp

    (result,) = host.perform([HostOp(1, name, args)], deadline=time.monotonic() + 5)
    return result


def test_state_growth_is_refused_past_the_storage_limit_and_freed_on_delete(quota_org, in_org):
    from apps.workflows.models import Workflow

    org = quota_org({"storage_bytes": 100})
    in_org(org)
    workflow = Workflow.objects.create(slug="stateful", name="S", code="export default () => 1", timeout_ms=5000)
    host = host_for(org, workflow)
    assert op(host, "state.set", key="a", value="x" * 50, scope="ORG").ok
    refused = op(host, "state.set", key="b", value="y" * 80, scope="ORG")
    assert not refused.ok and refused.error["code"] == "quota_exceeded"
    # Overwriting with a smaller value frees bytes; deleting frees the rest.
    assert op(host, "state.set", key="a", value="x", scope="ORG").ok
    assert op(host, "state.set", key="b", value="y" * 80, scope="ORG").ok
    assert op(host, "state.delete", key="b", scope="ORG").ok
    assert op(host, "state.set", key="c", value="z" * 80, scope="ORG").ok


def test_measurement_sets_the_levels_from_state_and_fastn_db(quota_org, in_org):
    from apps.billing.services import quota_consume
    from apps.settings.models import Customer
    from apps.workflows.models import StateEntry, Workflow
    from apps.workflows.storage import storage_measure, storage_reconcile

    org = quota_org({"storage_bytes": 1_000_000})
    in_org(org)
    customer = Customer.objects.create(external_id="st-1", name="S")
    workflow = Workflow.objects.create(slug="measured", name="M", code="export default () => 1", timeout_ms=5000)
    StateEntry.objects.create(workflow=workflow, customer=customer, key="k", value="v" * 10, size_bytes=12)
    StateEntry.objects.create(workflow=workflow, customer=None, key="k", value="v", size_bytes=3)
    total, per_customer = storage_measure(organization=org.organization)
    assert total >= 15 and per_customer.get("st-1", 0) >= 12
    assert storage_reconcile(organization=org.organization) == total
    decision = quota_consume(organization=org.organization, meter="storage_bytes", amount=1)
    used = {usage.dimension: usage.used for usage in decision.usages}
    assert used["storage_bytes"] == total + 1
