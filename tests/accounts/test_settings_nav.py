"""Every Settings page of the list exists, renders for the owner and returns its htmx panel."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["people", "general", "api-keys", "secrets", "environments", "customers", "audit-log", "roles"]


@pytest.mark.parametrize("page", PAGES)
def test_settings_page_renders_with_the_side_nav(client, org_a, page):
    client.force_login(org_a.owner)
    response = client.get(f"/o/{org_a.slug}/settings/{page}/")
    assert response.status_code == 200, response.content[:2000]
    html = response.content.decode()
    for label in ("People", "General", "API Keys", "Secrets", "Environments", "Customers", "Audit Log", "Roles"):
        assert f">{label}</a>" in html
    assert 'aria-current="page"' in html


@pytest.mark.parametrize("page", ["people", "general", "environments", "roles"])
def test_htmx_get_returns_the_panel_only(client, org_a, page):
    client.force_login(org_a.owner)
    response = client.get(f"/o/{org_a.slug}/settings/{page}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="' in html.lstrip()[:40]
