"""Environments: defaults, custom ones through the API and the dashboard."""

import pytest

from apps.settings.models import AuditEvent, Environment
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db


def test_defaults_and_custom_environments(api, org_a, in_org):
    client = api(org_a)
    slugs = [e["slug"] for e in client.get("/api/v1/environments").json()["results"]]
    assert slugs == ["dev", "staging", "production"]
    assert client.post("/api/v1/environments", {"slug": "qa", "name": "QA"}).status_code == 201
    assert_error(client.post("/api/v1/environments", {"slug": "qa"}), 409, "environment_exists")
    assert_error(client.post("/api/v1/environments", {"slug": "Not a slug"}), 400, "invalid_input")
    assert_error(client.post("/api/v1/environments", {"slug": "x", "is_production": "yes"}), 400, "invalid_input")
    assert client.patch("/api/v1/environments/qa", {"is_production": True}).json()["is_production"] is True
    assert_error(
        client.patch("/api/v1/environments/production", {"is_production": False}), 409, "environment_protected"
    )
    assert_error(client.delete("/api/v1/environments/production"), 409, "environment_protected")
    assert_error(client.get("/api/v1/environments/nope"), 404, "environment_not_found")
    assert client.delete("/api/v1/environments/qa").status_code == 204
    in_org(org_a)
    actions = set(AuditEvent.objects.filter(resource_type="environment").values_list("action", flat=True))
    assert {"environment.create", "environment.update", "environment.delete"} <= actions


def test_environments_are_per_organization(api, org_a, org_b):
    api(org_a).post("/api/v1/environments", {"slug": "only-a"})
    assert_error(api(org_b).get("/api/v1/environments/only-a"), 404, "environment_not_found")


def test_dashboard_adds_and_deletes_a_custom_environment(client, org_a, in_org):
    client.force_login(org_a.owner)
    page = f"/o/{org_a.slug}/settings/environments/"
    response = client.post(page, {"slug": "preview", "name": "Preview"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Environment preview created." in response.content.decode()
    assert client.post(page, {"slug": "preview"}, HTTP_HX_REQUEST="true").status_code == 409
    assert client.post(f"{page}production/delete", HTTP_HX_REQUEST="true").status_code == 409
    assert client.post(f"{page}preview/delete", HTTP_HX_REQUEST="true").status_code == 200
    in_org(org_a)
    assert not Environment.objects.filter(slug="preview").exists()
