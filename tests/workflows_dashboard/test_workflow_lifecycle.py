"""Publish, Deploy (and roll back), Discard from the workflow page."""

import pytest

from apps.settings.models import AuditEvent
from apps.workflows import selectors, services
from apps.workflows.models import Deployment, Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db

NEW_CODE = "export default async function (ctx) { return {version: 2}; }"


def page_url(org, slug, suffix=""):
    return f"/o/{org.slug}/integrations/workflows/{slug}/{suffix}"


def test_publish_makes_the_next_version_with_the_note(owner, org_a, make_workflow, in_org):
    workflow = make_workflow("Publishable")
    response = owner.post(page_url(org_a, workflow.slug, "publish"), {"note": "Initial"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == page_url(org_a, workflow.slug)
    in_org(org_a)
    version = WorkflowVersion.objects.get(workflow=workflow)
    assert (version.number, version.note, version.code) == (1, "Initial", workflow.code)
    assert AuditEvent.objects.filter(action="workflow.publish", resource_id=workflow.slug).exists()
    page = owner.get(page_url(org_a, workflow.slug)).content.decode()
    assert "Published v1." in page and "<strong>v1</strong> latest" in page


def test_publish_with_a_too_long_note_explains_in_the_dialog(owner, org_a, make_workflow):
    workflow = make_workflow("Wordy")
    response = owner.post(page_url(org_a, workflow.slug, "publish"), {"note": "x" * 501}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "at most 500 characters" in response.content.decode()


def test_operator_can_deploy_but_not_publish(member, org_a, make_workflow, in_org):
    workflow = make_workflow("Ops Flow", publish=True)
    operator = member("operator")
    assert operator.post(page_url(org_a, workflow.slug, "publish"), {"note": ""}).status_code == 403
    response = operator.post(page_url(org_a, workflow.slug, "deploy"), {"version": 1, "environment": "staging"})
    assert response.status_code == 302
    in_org(org_a)
    assert selectors.deployments_by_environment(workflow=workflow) == {"staging": 1}
    assert AuditEvent.objects.filter(outcome="denied", action="workflows.publish").exists()


def test_deploy_then_roll_back_by_deploying_an_earlier_version(owner, org_a, make_workflow, system, in_org):
    workflow = make_workflow("Rollbackable", publish=True, deploy="production")
    services.workflow_update(actor=system, workflow=workflow, code=NEW_CODE)
    services.workflow_publish(actor=system, workflow=workflow)
    response = owner.post(page_url(org_a, workflow.slug, "deploy"), {"version": 2, "environment": "production"})
    assert response.status_code == 302
    assert "Deployed v2 to production." in owner.get(response["Location"]).content.decode()
    response = owner.post(page_url(org_a, workflow.slug, "deploy"), {"version": 1, "environment": "production"})
    page = owner.get(response["Location"]).content.decode()
    assert "Rolled production back from v2 to v1." in page
    in_org(org_a)
    assert selectors.deployed_version(workflow_id=workflow.id, environment_slug="production").number == 1
    latest = AuditEvent.objects.filter(action="workflow.deploy").latest("created_at")
    assert latest.changes == {"environment": "production", "version": 1, "previous_version": 2, "rollback": True}
    # The page shows what runs where.
    assert 'data-testid="env-production"' in page and "production v1" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": 7, "environment": "production"}, "Select a valid choice. 7 is not one of the available choices."),
        ({"version": "one", "environment": "production"}, "Select a valid choice."),
        ({"version": 1, "environment": "moon"}, "Select a valid choice. moon is not one of the available choices."),
        ({}, "This field is required."),
    ],
)
def test_deploy_with_bad_input_explains_in_the_dialog(owner, org_a, make_workflow, in_org, data, message):
    workflow = make_workflow("Careful", publish=True)
    response = owner.post(page_url(org_a, workflow.slug, "deploy"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and html.lstrip().startswith('<p class="callout error"')
    in_org(org_a)
    assert not Deployment.objects.filter(workflow=workflow).exists()


def test_deploy_before_any_publish_says_to_publish(owner, org_a, make_workflow):
    workflow = make_workflow("Unpublished")
    response = owner.post(
        page_url(org_a, workflow.slug, "deploy"), {"version": 1, "environment": "production"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400 and "Publish a version first" in response.content.decode()


def test_viewer_cannot_publish_deploy_or_discard(member, org_a, make_workflow, in_org):
    workflow = make_workflow("Protected", publish=True)
    viewer = member("viewer")
    assert viewer.post(page_url(org_a, workflow.slug, "publish")).status_code == 403
    assert (
        viewer.post(page_url(org_a, workflow.slug, "deploy"), {"version": 1, "environment": "dev"}).status_code == 403
    )
    assert viewer.post(page_url(org_a, workflow.slug, "discard")).status_code == 403
    in_org(org_a)
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1
    assert not Deployment.objects.filter(workflow=workflow).exists()
    denied = set(AuditEvent.objects.filter(outcome="denied").values_list("action", flat=True))
    assert {"workflows.publish", "workflows.deploy", "workflows.edit"} <= denied


def test_discard_resets_the_draft_to_the_latest_version(owner, org_a, make_workflow, system, in_org):
    workflow = make_workflow("Discardable", publish=True)
    published_code = workflow.code
    services.workflow_update(actor=system, workflow=workflow, code=NEW_CODE, timeout_ms=30_000, edited_via="agent")
    page = owner.get(page_url(org_a, workflow.slug)).content.decode()
    assert "draft has unpublished changes" in page
    response = owner.post(page_url(org_a, workflow.slug, "discard"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    in_org(org_a)
    workflow.refresh_from_db()
    assert (workflow.code, workflow.timeout_ms, workflow.edited_via) == (published_code, 900_000, "manual")
    event = AuditEvent.objects.get(action="workflow.discard", resource_id=workflow.slug)
    assert event.changes == {"version": 1, "reset": ["code", "timeout_ms"]}
    assert "Draft changes discarded" in owner.get(page_url(org_a, workflow.slug)).content.decode()


def test_discard_with_nothing_to_discard_or_nothing_published_says_so(owner, org_a, make_workflow, in_org):
    published = make_workflow("Clean", publish=True)
    response = owner.post(page_url(org_a, published.slug, "discard"))
    assert "Nothing to discard" in owner.get(response["Location"]).content.decode()
    draft_only = make_workflow("Never Published")
    response = owner.post(page_url(org_a, draft_only.slug, "discard"))
    assert "no published version to go back to" in owner.get(response["Location"]).content.decode()
    in_org(org_a)
    assert not AuditEvent.objects.filter(action="workflow.discard").exists()
    assert Workflow.objects.get(pk=draft_only.pk).code == draft_only.code
