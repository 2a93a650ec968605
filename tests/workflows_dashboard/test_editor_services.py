"""Services added for the editor: save with a lost-update check, discard the draft."""

from datetime import timedelta

import pytest

from apps.settings.models import AuditEvent
from apps.workflows import services
from apps.workflows.exceptions import DraftChanged, NotPublished

pytestmark = pytest.mark.django_db

V2 = "export default async function () { return 2; }"


def test_save_draft_applies_changes_when_nobody_saved_since(make_workflow, system):
    workflow = make_workflow("Saver")
    saved = services.workflow_save_draft(
        actor=system, workflow=workflow, expected_updated_at=workflow.updated_at, code=V2, timeout_ms=10_000
    )
    assert saved.code == V2 and saved.timeout_ms == 10_000 and saved.updated_at > workflow.updated_at


def test_save_draft_refuses_when_the_draft_changed_since_it_was_loaded(make_workflow, system):
    workflow = make_workflow("Raced")
    loaded_at = workflow.updated_at
    services.workflow_update(actor=system, workflow=workflow, description="someone else")
    with pytest.raises(DraftChanged) as caught:
        services.workflow_save_draft(actor=system, workflow=workflow, expected_updated_at=loaded_at, code=V2)
    assert caught.value.status == 409 and caught.value.details["updated_by"] == "test"
    workflow.refresh_from_db()
    assert workflow.code != V2


def test_save_draft_without_a_timestamp_skips_the_check(make_workflow, system):
    workflow = make_workflow("Unchecked")
    services.workflow_update(actor=system, workflow=workflow, description="meanwhile")
    saved = services.workflow_save_draft(actor=system, workflow=workflow, expected_updated_at=None, code=V2)
    assert saved.code == V2


def test_save_draft_with_an_older_timestamp_is_refused_even_by_a_microsecond(make_workflow, system):
    workflow = make_workflow("Precise")
    with pytest.raises(DraftChanged):
        services.workflow_save_draft(
            actor=system,
            workflow=workflow,
            expected_updated_at=workflow.updated_at - timedelta(microseconds=1),
            code=V2,
        )


def test_discard_resets_code_and_versioned_configuration_only(make_workflow, system):
    workflow = make_workflow("Reset Me", tier="standard", publish=True, description="kept")
    services.workflow_update(
        actor=system,
        workflow=workflow,
        code=V2,
        tier="long",
        timeout_ms=60_000,
        enabled=False,
        name="Renamed",
        retry_policy={"enabled": True},
        edited_via="agent",
    )
    reset = services.workflow_discard_draft(actor=system, workflow=workflow)
    version = workflow.versions.get()
    assert reset.code == version.code and reset.tier == "standard" and reset.timeout_ms == 900_000
    assert reset.retry_policy["enabled"] is False and reset.edited_via == "manual"
    # Not part of a version: they stay.
    assert (reset.name, reset.enabled, reset.description) == ("Renamed", False, "kept")
    event = AuditEvent.objects.get(action="workflow.discard")
    assert event.changes == {"version": 1, "reset": ["code", "tier", "timeout_ms", "retry_policy"]}


def test_discard_goes_back_to_the_latest_version_not_the_first(make_workflow, system):
    workflow = make_workflow("Twice", publish=True)
    services.workflow_update(actor=system, workflow=workflow, code=V2)
    services.workflow_publish(actor=system, workflow=workflow)
    services.workflow_update(actor=system, workflow=workflow, code="export default async () => 3")
    assert services.workflow_discard_draft(actor=system, workflow=workflow).code == V2


def test_discard_with_a_config_only_change_keeps_edited_via(make_workflow, system):
    workflow = make_workflow("Config Only", publish=True, edited_via="agent")
    services.workflow_update(actor=system, workflow=workflow, timeout_ms=20_000)
    reset = services.workflow_discard_draft(actor=system, workflow=workflow)
    assert reset.timeout_ms == 900_000 and reset.edited_via == "agent"


def test_discard_of_an_unchanged_draft_writes_nothing(make_workflow, system):
    workflow = make_workflow("Unchanged", publish=True)
    before = workflow.updated_at
    assert services.workflow_discard_draft(actor=system, workflow=workflow).updated_at == before
    assert not AuditEvent.objects.filter(action="workflow.discard").exists()


def test_discard_without_a_published_version_is_a_conflict(make_workflow, system):
    workflow = make_workflow("Draft Only")
    with pytest.raises(NotPublished) as caught:
        services.workflow_discard_draft(actor=system, workflow=workflow)
    assert caught.value.status == 409 and caught.value.code == "not_published"


def test_execution_wait_instant_fails_an_execution_that_was_never_queued(make_workflow, system):
    from apps.workflows.models import Execution

    workflow = make_workflow("Unqueued", tier="instant", publish=True, deploy="production")
    started = services.execution_start(actor=system, request=services.RunRequest(workflow=workflow, input={}))
    execution = services.execution_wait_instant(execution=started.execution, enqueued=False, max_wait_s=1)
    assert execution.status == Execution.Status.FAILED and execution.error["code"] == "queue_unavailable"
