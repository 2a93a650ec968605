"""FASTN_LOG_FORMAT=json: one JSON object per line with organization, customer, execution and request ids."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path


def _json_logging(stream) -> None:
    from django.conf import settings

    config = json.loads(json.dumps(settings.LOGGING, default=str))
    config["handlers"]["console"] = {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"],
                                     "stream": stream}  # fmt: skip
    logging.config.dictConfig(config)


@pytest.fixture
def lines():
    from django.conf import settings

    stream = io.StringIO()
    _json_logging(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    logging.config.dictConfig(settings.LOGGING)


def test_a_line_carries_the_bound_ids(lines):
    from apps.core import logcontext

    with logcontext.bound(organization="acme", customer="cust-1", execution_id="e-1", request_id="r-1"):
        logging.getLogger("apps.test").warning("inside %s", "work")
    logging.getLogger("apps.test").warning("outside")
    inside, outside = lines()
    assert inside["message"] == "inside work" and inside["level"] == "WARNING" and inside["logger"] == "apps.test"
    assert (inside["organization"], inside["customer"], inside["execution_id"], inside["request_id"]) == (
        "acme", "cust-1", "e-1", "r-1",
    )  # fmt: skip
    assert outside["organization"] is None and outside["request_id"] is None


def _logging_view(request):
    logging.getLogger("apps.test").warning("handled")
    return HttpResponse("ok")


urlpatterns = [path("o/<slug:org_slug>/log-probe", _logging_view), path("api/v1/log-probe", _logging_view)]


@override_settings(ROOT_URLCONF=__name__)
def test_request_lines_carry_the_request_id_organization_and_customer(lines, client, org_a, db):
    response = client.get(
        "/api/v1/log-probe",
        HTTP_X_REQUEST_ID="req-abc-123",
        HTTP_X_FASTN_ACCOUNT_ID=org_a.account_id,
        HTTP_X_FASTN_ACCOUNT_TENANT_ID="cust-9",
    )
    assert response["X-Request-ID"] == "req-abc-123"
    line = next(entry for entry in lines() if entry["message"] == "handled")
    assert line["request_id"] == "req-abc-123"
    assert line["organization"] == org_a.slug and line["customer"] == "cust-9"
    generated = client.get("/api/v1/log-probe", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]
    assert generated != "bad id with spaces" and len(generated) == 32
