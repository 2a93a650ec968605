"""bootstrap_org as a real command: it commits, so these tests run outside
the per-test transaction and clean up after themselves."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, _test_database_url


@pytest.fixture
def committed_db_url(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        yield _test_database_url()
        from apps.accounts.models import User
        from apps.core.models import Organization

        for org in Organization.objects.filter(slug__startswith="bootstrap-test"):
            org.delete(force_drop=True)
        User.objects.filter(email__endswith="@bootstrap.test").delete()


def _bootstrap(*args: str, env_db: str):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fastn.settings.test", "DATABASE_URL": env_db}
    return subprocess.run(
        [sys.executable, "manage.py", "bootstrap_org", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_bootstrap_org_prints_json_and_a_second_run_exits_1(committed_db_url):
    first = _bootstrap(
        "--name", "Bootstrap Test Co", "--owner-email", "boot@bootstrap.test", "--plan", "pro", env_db=committed_db_url
    )
    assert first.returncode == 0, first.stderr
    body = json.loads(first.stdout)
    assert set(body) >= {"account_id", "slug", "owner_email", "owner_password", "api_keys"}
    assert body["slug"] == "bootstrap-test-co"
    assert body["owner_email"] == "boot@bootstrap.test"
    assert len(body["owner_password"]) >= 12
    assert body["api_keys"]["test"].startswith("fastn_test_")
    assert body["api_keys"]["live"].startswith("fastn_live_")
    assert body["plan"] == "pro"

    second = _bootstrap("--name", "Bootstrap Test Co", "--owner-email", "x@bootstrap.test", env_db=committed_db_url)
    assert second.returncode == 1
    assert "already exists" in second.stderr
    assert second.stdout == ""


def test_bootstrap_org_keys_work_against_the_api(committed_db_url, api):
    result = _bootstrap("--name", "Bootstrap Test Two", "--owner-email", "two@bootstrap.test", env_db=committed_db_url)
    body = json.loads(result.stdout)
    client = api(account=body["account_id"], key=body["api_keys"]["test"])
    assert client.get("/api/v1/customers").status_code == 200


def test_bootstrap_org_refuses_a_bad_plan_and_an_empty_name(committed_db_url):
    bad_plan = _bootstrap(
        "--name", "Bootstrap Test Three", "--owner-email", "a@bootstrap.test", "--plan", "gold", env_db=committed_db_url
    )
    assert bad_plan.returncode != 0 and "gold" in bad_plan.stderr
    empty = _bootstrap("--name", "  ", "--owner-email", "a@bootstrap.test", env_db=committed_db_url)
    assert empty.returncode == 1 and "name" in empty.stderr
