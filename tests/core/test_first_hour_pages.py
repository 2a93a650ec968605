"""What a newcomer sees around the dashboard: `make run` serves the product's
own 404 page, the sign-in page offers sign-up only while it is open, the
workflow API tab's example names a real customer, and every dashboard page
stays within a fixed number of queries."""

import os
import subprocess
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def test_make_run_settings_leave_debug_pages_off_unless_asked():
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_SETTINGS_MODULE")}
    script = "import fastn.settings.dev as s; print(s.DEBUG)"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
    asked = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**clean, "DEBUG": "true"}, capture_output=True, text=True
    )
    assert asked.stdout.strip() == "True", asked.stderr


def test_an_unknown_dashboard_page_is_the_products_404(client, org_a):
    client.force_login(org_a.owner)
    response = client.get(f"/o/{org_a.slug}/no-such-page")
    body = response.content.decode()
    assert response.status_code == 404
    assert "URLconf" not in body and "Using the URLconf" not in body
    assert "<title>Not found" in body


def test_the_sign_in_page_offers_sign_up_only_while_it_is_open(client, settings):
    settings.ACCOUNT_ALLOW_REGISTRATION = False
    closed = client.get("/accounts/login/").content.decode()
    assert 'data-testid="signup-link"' not in closed and "/accounts/signup/" not in closed
    settings.ACCOUNT_ALLOW_REGISTRATION = True
    opened = client.get("/accounts/login/").content.decode()
    assert 'data-testid="signup-link"' in opened and "/accounts/signup/" in opened


def _api_tab(client, org, slug):
    page = client.get(f"/o/{org.slug}/integrations/workflows/{slug}/").content.decode()
    return page.split('id="curl-run">', 1)[1].split("</pre>", 1)[0]


def test_the_api_tab_example_names_a_real_customer_or_none(client, org_a, api):
    client.force_login(org_a.owner)
    created = api(org_a).post(
        "/api/v1/workflows", {"name": "Tab", "slug": "tab-example", "code": "export default async () => 1"}
    )
    assert created.status_code == 201
    curl = _api_tab(client, org_a, "tab-example")
    assert "customer-123" not in curl and "x-fastn-account-tenant-id" not in curl
    api(org_a).post("/api/v1/customers", {"external_id": "first-cust", "name": "First"})
    api(org_a).post("/api/v1/customers", {"external_id": "second-cust", "name": "Second"})
    curl = _api_tab(client, org_a, "tab-example")
    assert "x-fastn-account-tenant-id: first-cust" in curl


DASHBOARD_PAGES = [
    "",
    "integrations/",
    "integrations/connectors/",
    "integrations/connections/",
    "integrations/workflows/",
    "integrations/triggers/",
    "activity/executions/",
    "activity/events/",
    "settings/people/",
    "settings/api-keys/",
    "settings/secrets/",
    "settings/environments/",
    "settings/customers/",
    "settings/audit-log/",
    "settings/roles/",
    "settings/billing/",
    "settings/oauth-apps/",
    "settings/general/",
    "settings/customers/q-cust-0/",
]
# Warm pages took 100–250 ms on the first-hour tour; their query counts are
# what keeps them so. Each page's count must not grow with the data either
# (checked below by adding rows and counting again).
MAX_QUERIES = 40


@pytest.mark.parametrize("path", DASHBOARD_PAGES)
def test_every_dashboard_page_runs_a_bounded_number_of_queries(client, org_a, api, path):
    client.force_login(org_a.owner)
    owner_api = api(org_a)
    for i in range(3):
        owner_api.post("/api/v1/customers", {"external_id": f"q-cust-{i}", "name": f"Q {i}"})
    client.get(f"/o/{org_a.slug}/{path}")  # warm: sessions, caches
    with CaptureQueriesContext(connection) as few:
        response = client.get(f"/o/{org_a.slug}/{path}")
    assert response.status_code == 200, path
    for i in range(3, 13):
        owner_api.post("/api/v1/customers", {"external_id": f"q-cust-{i}", "name": f"Q {i}"})
    with CaptureQueriesContext(connection) as many:
        client.get(f"/o/{org_a.slug}/{path}")
    assert len(few.captured_queries) <= MAX_QUERIES, (path, len(few.captured_queries))
    assert len(many.captured_queries) <= len(few.captured_queries) + 1, (
        path,
        len(few.captured_queries),
        len(many.captured_queries),
    )


def test_the_catalogue_is_read_once_per_process_not_per_request(client, org_a, monkeypatch):
    from apps.connectors import catalog

    client.force_login(org_a.owner)
    client.get(f"/o/{org_a.slug}/integrations/")
    calls = []
    monkeypatch.setattr(catalog, "_load_file", lambda path: calls.append(path))
    # load_catalog() deep-copies all of it: pages that list or count it must not.
    monkeypatch.setattr(catalog, "load_catalog", lambda: calls.append("load_catalog") or {})
    for path in ("integrations/", "integrations/connectors/", "settings/oauth-apps/"):
        assert client.get(f"/o/{org_a.slug}/{path}").status_code == 200
    assert calls == []


@pytest.mark.parametrize(
    "path",
    [
        "integrations/",
        "integrations/connectors/",
        "integrations/connections/",
        "integrations/workflows/",
        "integrations/triggers/",
    ],
)
def test_the_integrations_heading_sits_above_the_tabs_on_every_tab(client, org_a, path):
    client.force_login(org_a.owner)
    page = client.get(f"/o/{org_a.slug}/{path}").content.decode()
    head = page.split('<div class="section-head">', 1)[1].split("</div>", 1)[0]
    assert head.index("<h1>Integrations</h1>") < head.index('aria-label="Integrations"'), path
    assert page.count("<h1") == 1, path
