"""The workflow page: what it shows, and Save (configuration + code)."""

import json
import re

import pytest
from django.test import override_settings

from apps.settings.models import AuditEvent
from apps.workflows.models import Workflow

pytestmark = pytest.mark.django_db


def page_url(org, slug, suffix=""):
    return f"/o/{org.slug}/integrations/workflows/{slug}/{suffix}"


def draft_data(workflow, **changes):
    """The editor form as the page renders it, with changes."""
    retry = workflow.retry_policy
    data = {
        "name": workflow.name,
        "description": workflow.description,
        "tier": workflow.tier,
        "timeout_ms": workflow.timeout_ms,
        "enabled": "on" if workflow.enabled else "",
        "retry_enabled": "on" if retry["enabled"] else "",
        "retry_max_attempts": retry["max_attempts"],
        "retry_initial_interval_ms": retry["initial_interval_ms"],
        "retry_backoff_coefficient": retry["backoff_coefficient"],
        "retry_max_interval_ms": retry["max_interval_ms"],
        "code": workflow.code,
        "loaded_at": workflow.updated_at.isoformat(),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


@override_settings(FASTN_PUBLIC_URL="https://fastn.example.com")
def test_page_shows_configuration_code_header_versions_and_api(owner, org_a, make_workflow):
    workflow = make_workflow(
        "Lead Router", tier="instant", description="Routes leads", publish=True, deploy="production"
    )
    content_hash = workflow.versions.get().content_hash
    html = owner.get(page_url(org_a, workflow.slug)).content.decode()
    assert "<h1>Lead Router</h1>" in html
    assert "<strong>v1</strong> latest" in html and "production v1" in html and "Edited manually" in html
    assert f"{workflow.code_bytes} bytes" in html
    assert 'name="timeout_ms" value="60000"' in html and 'min="1000" max="120000"' in html
    assert "Routes leads" in html and "draft = v1" in html
    # Versions: number, hash prefix, note, author, where deployed.
    versions = html[html.index('data-testid="versions"') :]
    assert ">v1</a>" in versions and content_hash[:12] in versions and "first" in versions
    # API tab: the public URL, the real account id, a curl example and the test endpoint.
    assert "https://fastn.example.com/api/v1/workflows/lead-router/run" in html
    assert "https://fastn.example.com/api/v1/workflows/lead-router/test" in html
    assert f"x-fastn-account-id: {org_a.account_id}" in html and "x-fastn-account-tenant-id" in html
    assert "curl -X POST" in html
    # The tiers' ranges for the slider.
    specs = json.loads(re.search(r'<script id="tier-specs" type="application/json">(.*?)</script>', html).group(1))
    assert specs["long"] == {"min": 30000, "max": 21600000, "default": 21600000, "step": 30000, "synchronous": False}


def test_page_says_edited_via_agent_when_the_agent_edited(owner, org_a, make_workflow):
    workflow = make_workflow("Agent Made", edited_via="agent")
    assert "Edited via agent" in owner.get(page_url(org_a, workflow.slug)).content.decode()


def test_save_updates_code_and_configuration_and_audits(owner, org_a, make_workflow, in_org):
    workflow = make_workflow("Editable", edited_via="agent")
    new_code = "export default async function (ctx) {\n  return {n: 2};\n}\n"
    data = draft_data(
        workflow,
        name="Editable 2",
        description="Now described",
        tier="long",
        timeout_ms=3_600_000,
        enabled="",
        retry_enabled="on",
        retry_max_attempts=5,
        retry_backoff_coefficient="1.5",
        code=new_code,
    )
    response = owner.post(page_url(org_a, workflow.slug), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved at" in html and 'id="wf-form"' in html and 'hx-swap-oob="true"' in html
    assert f'hx-post="{page_url(org_a, workflow.slug)}"' in html
    saved = json.loads(response["HX-Trigger"])["fastn:saved"]
    assert saved["code_bytes"] == len(new_code.encode())
    in_org(org_a)
    workflow.refresh_from_db()
    assert workflow.code == new_code and workflow.edited_via == "manual"
    assert (workflow.name, workflow.tier, workflow.timeout_ms, workflow.enabled) == (
        "Editable 2",
        "long",
        3_600_000,
        False,
    )
    assert workflow.retry_policy == {
        "enabled": True,
        "max_attempts": 5,
        "initial_interval_ms": 5000,
        "backoff_coefficient": 1.5,
        "max_interval_ms": 60000,
    }
    assert saved["loaded_at"] == workflow.updated_at.isoformat()
    event = AuditEvent.objects.filter(action="workflow.update", resource_id=workflow.slug).latest("created_at")
    assert event.changes["tier"] == "long" and event.changes["code_bytes"] == len(new_code.encode())


def test_saving_only_configuration_keeps_edited_via_agent(owner, org_a, make_workflow, in_org):
    workflow = make_workflow("Agent Flow", edited_via="agent")
    owner.post(page_url(org_a, workflow.slug), draft_data(workflow, description="Human note"))
    in_org(org_a)
    workflow.refresh_from_db()
    assert workflow.description == "Human note" and workflow.edited_via == "agent"


def test_save_without_htmx_redirects_with_a_message(owner, org_a, make_workflow):
    workflow = make_workflow("Plain Form")
    response = owner.post(page_url(org_a, workflow.slug), draft_data(workflow, name="Plain Form 2"))
    assert response.status_code == 302
    assert "Saved." in owner.get(response["Location"]).content.decode()


def test_compile_error_shows_line_and_column_and_saves_nothing(owner, org_a, make_workflow, in_org):
    workflow = make_workflow("Broken")
    original = workflow.code
    bad = "export default async function (ctx) {\n  const x = ;\n}\n"
    response = owner.post(page_url(org_a, workflow.slug), draft_data(workflow, code=bad), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert "does not compile" in html and "line 2" in html and 'data-goto-line="2"' in html
    event = json.loads(response["HX-Trigger"])["fastn:compile-error"]
    assert event["line"] == 2 and event["column"] >= 1
    in_org(org_a)
    workflow.refresh_from_db()
    assert workflow.code == original


def test_compile_error_without_htmx_renders_the_page_with_the_bad_code(owner, org_a, make_workflow):
    workflow = make_workflow("Broken Plain")
    bad = "export default async function (ctx) {\n  return (;\n}\n"
    response = owner.post(page_url(org_a, workflow.slug), draft_data(workflow, code=bad))
    assert response.status_code == 422
    html = response.content.decode()
    assert "return (;" in html and 'data-error-line="2"' in html


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"tier": "instant", "timeout_ms": 600_000}, "For the instant tier, use 1000 to 120000 ms."),
        ({"timeout_ms": "soon"}, "Enter a whole number."),
        ({"retry_max_attempts": 11}, "Must be between 1 and 10."),
        ({"retry_backoff_coefficient": "0.5"}, "Must be between 1 and 10."),
        ({"retry_initial_interval_ms": 50}, "Must be between 100 and 3600000."),
        (
            {"retry_initial_interval_ms": 20_000, "retry_max_interval_ms": 10_000},
            "Must be at least initial_interval_ms.",
        ),
        ({"name": ""}, "This field is required."),
        ({"code": ""}, "This field is required."),
    ],
)
def test_bad_configuration_shows_the_problem_on_its_field(owner, org_a, make_workflow, in_org, changes, field_message):
    workflow = make_workflow("Strict")
    before = Workflow.objects.get(pk=workflow.pk).updated_at
    response = owner.post(page_url(org_a, workflow.slug), draft_data(workflow, **changes), HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    html = response.content.decode()
    assert field_message in html
    in_org(org_a)
    assert Workflow.objects.get(pk=workflow.pk).updated_at == before


def test_a_tier_change_without_a_fitting_timeout_takes_the_tiers_default(owner, org_a, make_workflow, in_org):
    workflow = make_workflow("Tiered", tier="standard", timeout_ms=900_000)
    # The slider sends the new tier's default when the old value does not fit; a stale form must still be refused.
    response = owner.post(page_url(org_a, workflow.slug), draft_data(workflow, tier="instant"))
    assert response.status_code == 400
    response = owner.post(page_url(org_a, workflow.slug), draft_data(workflow, tier="instant", timeout_ms=60_000))
    assert response.status_code == 302
    in_org(org_a)
    workflow.refresh_from_db()
    assert (workflow.tier, workflow.timeout_ms) == ("instant", 60_000)


def test_saving_over_someone_elses_newer_save_is_refused(owner, org_a, make_workflow, system, in_org):
    from apps.workflows import services

    workflow = make_workflow("Contested")
    stale = draft_data(workflow, code="export default async function () { return 'mine'; }")
    services.workflow_update(
        actor=system, workflow=workflow, code="export default async function () { return 'theirs'; }"
    )
    response = owner.post(page_url(org_a, workflow.slug), stale, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "saved this workflow after you opened it" in response.content.decode()
    in_org(org_a)
    workflow.refresh_from_db()
    assert "theirs" in workflow.code


def test_a_mangled_loaded_at_is_a_clear_error(owner, org_a, make_workflow):
    workflow = make_workflow("Mangled")
    response = owner.post(page_url(org_a, workflow.slug), draft_data(workflow, loaded_at="yesterday"))
    assert response.status_code == 400
    assert "Reload the page" in response.content.decode()


def test_viewer_sees_a_read_only_page_and_cannot_save(member, org_a, make_workflow, in_org):
    workflow = make_workflow("Look Only")
    viewer = member("viewer")
    html = viewer.get(page_url(org_a, workflow.slug)).content.decode()
    assert "readonly" in html and 'id="save-btn"' not in html and "Run test" not in html
    assert "Publish</button>" not in html and "Delete workflow" not in html
    response = viewer.post(page_url(org_a, workflow.slug), draft_data(workflow, name="Hijacked"))
    assert response.status_code == 403
    in_org(org_a)
    workflow.refresh_from_db()
    assert workflow.name == "Look Only"
    assert AuditEvent.objects.filter(
        outcome="denied", action="workflows.edit", actor_label="viewer@alpha-corp.test"
    ).exists()


def test_unknown_workflow_is_404(owner, org_a):
    assert owner.get(page_url(org_a, "no-such-flow")).status_code == 404


def test_version_page_shows_the_code_and_configuration(owner, org_a, make_workflow):
    workflow = make_workflow("Versioned", publish=True, deploy="production")
    html = owner.get(page_url(org_a, workflow.slug, "versions/1/")).content.decode()
    assert "v1" in html and "runs in production" in html and "return {ok: true" in html and "Deploy v1" in html
    assert owner.get(page_url(org_a, workflow.slug, "versions/9/")).status_code == 404


def test_saving_refreshes_the_draft_state_in_the_header_and_publish_dialog(owner, org_a, make_workflow):
    workflow = make_workflow("Published Once", publish=True)
    page = owner.get(page_url(org_a, workflow.slug)).content.decode()
    assert "draft = v1" in page and '<p class="callout warn" id="publish-same"  >' in page
    changed = draft_data(workflow, code="export default async function () { return 'changed'; }")
    html = owner.post(page_url(org_a, workflow.slug), changed, HTTP_HX_REQUEST="true").content.decode()
    assert "draft has unpublished changes" in html
    assert 'id="publish-same" hidden hx-swap-oob="true"' in html
