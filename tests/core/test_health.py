import pytest

pytestmark = pytest.mark.django_db


def test_health_answers_503_naming_redis_when_its_redis_is_down(client, settings, own_redis):
    settings.REDIS_URL = own_redis.url
    own_redis.stop()
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"] == "error"
    assert body["checks"]["database"] == "ok"
    assert "redis" in body["error"]["details"]["failing"]
    assert body["error"]["code"] == "dependency_unavailable"


def test_health_reports_redis_ok_when_its_redis_is_up(client, settings, own_redis):
    settings.REDIS_URL = own_redis.url
    response = client.get("/api/v1/health")
    assert response.json()["checks"]["redis"] == "ok"


def test_health_needs_no_credentials_and_names_missing_workers(client, settings):
    settings.FASTN_HEALTH_WORKER_TIMEOUT = 0.2
    response = client.get("/api/v1/health")
    assert response.status_code in (200, 503)
    assert set(response.json()["checks"]) == {"database", "redis", "workers"}


@pytest.mark.workers
def test_health_is_200_with_a_worker_on_every_queue(client, celery_workers):
    response = client.get("/api/v1/health")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "workers": "ok"},
        "details": response.json()["details"],
    }
