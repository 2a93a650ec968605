"""Integrations → Workflows: the list, its tabs, search, pagination, Create and Delete."""

import re

import pytest

from apps.settings.models import AuditEvent
from apps.workflows.models import Workflow

pytestmark = pytest.mark.django_db


def page_url(org, suffix=""):
    return f"/o/{org.slug}/integrations/workflows/{suffix}"


def test_integrations_landing_links_the_workflows_tab(owner, org_a):
    response = owner.get(f"/o/{org_a.slug}/integrations/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{page_url(org_a)}"' in html and ">Workflows</a>" in html


def test_list_shows_name_slug_description_status_versions_and_production(owner, org_a, make_workflow):
    make_workflow("Sync Contacts", description="Copies contacts to billing", publish=True, deploy="production")
    make_workflow("Nightly Report", tier="long", enabled=False)
    html = owner.get(page_url(org_a)).content.decode()
    assert 'aria-current="page">Workflows</a>' in html  # the section's tab
    assert "Sync Contacts" in html and "sync-contacts" in html and "Copies contacts to billing" in html
    assert "production v1" in html and "v1</span>" in html
    row = re.search(r'<tr id="wf-row-nightly-report">.*?</tr>', html, re.S).group(0)
    assert "Inactive" in row and "Not published" in row
    assert "Create workflow" in html
    # Tier tabs with counts.
    assert re.search(r"All <span class=\"count\">2</span>", html)
    assert re.search(r"Long <span class=\"count\">1</span>", html)


def test_tier_tab_and_search_filter_the_list(owner, org_a, make_workflow):
    make_workflow("Instant Lookup", tier="instant")
    make_workflow("Standard Sync", tier="standard")
    html = owner.get(page_url(org_a), {"tier": "instant"}).content.decode()
    assert "Instant Lookup" in html and "Standard Sync" not in html
    html = owner.get(page_url(org_a), {"q": "sync"}).content.decode()
    assert "Standard Sync" in html and "Instant Lookup" not in html
    html = owner.get(page_url(org_a), {"q": "nothing-like-this"}).content.decode()
    assert "No workflow matches" in html


def test_htmx_search_returns_only_the_rows(owner, org_a, make_workflow):
    make_workflow("Findable Flow")
    response = owner.get(page_url(org_a), {"q": "findable"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="workflow-rows")
    html = response.content.decode()
    assert "Findable Flow" in html and "<table" not in html and "<html" not in html


def test_keyset_pagination_loads_more_rows_without_repeats(owner, org_a, make_workflow):
    for n in range(30):
        make_workflow(f"Flow {n:02d}")
    first = owner.get(page_url(org_a)).content.decode()
    slugs_first = re.findall(r'<tr id="wf-row-([\w-]+)">', first)
    assert len(slugs_first) == 25
    assert f'hx-get="{page_url(org_a)}?cursor=' in first
    cursor = re.search(r"cursor=([\w-]+)", first).group(1)
    more = owner.get(page_url(org_a), {"cursor": cursor}, HTTP_HX_REQUEST="true").content.decode()
    slugs_more = re.findall(r'<tr id="wf-row-([\w-]+)">', more)
    assert len(slugs_more) == 5 and not set(slugs_more) & set(slugs_first)
    assert "Load more" not in more and "<table" not in more


def test_bad_cursor_and_unknown_tier_show_a_message_not_an_error(owner, org_a, make_workflow):
    make_workflow("Any Flow")
    response = owner.get(page_url(org_a), {"cursor": "not-a-cursor", "tier": "huge"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "This cursor is not valid" in html and "There is no tier" in html and "Any Flow" in html


def test_create_starts_from_the_code_template_and_opens_the_workflow(owner, org_a, in_org):
    response = owner.post(
        page_url(org_a), {"name": "Lead Router", "slug": "", "description": "Routes", "tier": "instant"}
    )
    assert response.status_code == 302 and response["Location"] == page_url(org_a, "lead-router/")
    in_org(org_a)
    workflow = Workflow.objects.get(slug="lead-router")
    assert workflow.tier == "instant" and workflow.timeout_ms == 60_000 and workflow.description == "Routes"
    assert "export default async function (ctx)" in workflow.code and workflow.edited_via == "manual"
    assert AuditEvent.objects.filter(action="workflow.create", resource_id="lead-router").exists()
    page = owner.get(response["Location"]).content.decode()
    assert "Workflow Lead Router created." in page


def test_htmx_create_answers_with_a_redirect_header(owner, org_a):
    response = owner.post(
        page_url(org_a), {"name": "Hx Flow", "slug": "hx-custom", "tier": "standard"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204 and response["HX-Redirect"] == page_url(org_a, "hx-custom/")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"name": "", "tier": "standard"}, 400, "This field is required."),
        ({"name": "X", "tier": "medium"}, 400, "Select a valid choice."),
        ({"name": "X", "slug": "Bad Slug!", "tier": "standard"}, 400, "Use lowercase letters"),
        ({"name": "X" * 201, "tier": "standard"}, 400, "at most 200 characters"),
    ],
)
def test_create_with_bad_input_shows_the_form_with_the_problem(owner, org_a, data, status, message):
    response = owner.post(page_url(org_a), data, HTTP_HX_REQUEST="true")
    assert response.status_code == status
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="create-form"') and message in html


def test_create_with_a_taken_slug_says_so_on_the_slug_field(owner, org_a, make_workflow):
    make_workflow("Taken", slug="taken")
    response = owner.post(page_url(org_a), {"name": "Other", "slug": "taken", "tier": "standard"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "already exists" in html and '<dialog id="create-dialog"' in html and " open" in html


def test_viewer_sees_the_list_without_buttons_and_cannot_create(member, org_a, make_workflow, in_org):
    make_workflow("Visible Flow", publish=True, deploy="production")
    viewer = member("viewer")
    html = viewer.get(page_url(org_a)).content.decode()
    assert "Visible Flow" in html
    assert "Create workflow" not in html and ">Delete<" not in html and ">Run<" not in html
    assert viewer.post(page_url(org_a), {"name": "Nope", "tier": "standard"}).status_code == 403
    in_org(org_a)
    assert not Workflow.objects.filter(name="Nope").exists()
    assert AuditEvent.objects.filter(outcome="denied", action="workflows.create").exists()


def test_delete_from_the_list_removes_the_row(owner, org_a, make_workflow, in_org):
    make_workflow("Doomed", publish=True, deploy="production")
    response = owner.post(page_url(org_a, "doomed/delete"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="wf-row-doomed")
    assert response.status_code == 200 and response.content == b""
    assert "deleted" in response["HX-Trigger"]
    in_org(org_a)
    assert not Workflow.objects.filter(slug="doomed").exists()
    assert AuditEvent.objects.filter(action="workflow.delete", resource_id="doomed").exists()


def test_delete_from_the_workflow_page_goes_back_to_the_list(owner, org_a, make_workflow):
    make_workflow("Doomed Too")
    response = owner.post(page_url(org_a, "doomed-too/delete"))
    assert response.status_code == 302 and response["Location"] == page_url(org_a)


def test_delete_needs_the_delete_permission_and_a_get_is_refused(member, owner, org_a, make_workflow, in_org):
    make_workflow("Kept")
    operator = member("operator")  # view, run, deploy: no delete
    assert operator.post(page_url(org_a, "kept/delete")).status_code == 403
    assert owner.get(page_url(org_a, "kept/delete")).status_code == 405
    in_org(org_a)
    assert Workflow.objects.filter(slug="kept").exists()


def test_another_organizations_workflow_is_404(owner, org_a, org_b, make_workflow):
    make_workflow("Beta Secret", org=org_b)
    for suffix in ("beta-secret/", "beta-secret/run", "beta-secret/versions/1/", "beta-secret/executions"):
        assert owner.get(page_url(org_a, suffix)).status_code == 404, suffix
    for suffix in (
        "beta-secret/",
        "beta-secret/publish",
        "beta-secret/deploy",
        "beta-secret/discard",
        "beta-secret/delete",
        "beta-secret/run",
        "beta-secret/test",
    ):
        assert owner.post(page_url(org_a, suffix), {}).status_code == 404, suffix


def test_a_stranger_gets_404_for_the_whole_section(client, org_a, org_b):
    client.force_login(org_b.owner)
    assert client.get(page_url(org_a)).status_code == 404
    assert client.get(f"/o/{org_a.slug}/activity/executions/").status_code == 404
