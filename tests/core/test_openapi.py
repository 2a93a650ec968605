import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_documents_the_contract(client):
    response = client.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in [
        "/api/v1/health",
        "/api/v1/customers",
        "/api/v1/secrets",
        "/api/v1/secrets/{name}",
        "/api/v1/api-keys",
        "/api/v1/api-keys/{key_id}",
        "/api/v1/audit-log",
    ]:
        assert path in paths, path
    assert "AccessKey" in schema["components"]["securitySchemes"]


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
