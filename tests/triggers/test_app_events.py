"""App events: provider webhooks at the organization's per-connector URL, and polling."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlparse

import pytest
import time_machine

from tests.core.test_errors import assert_error
from tests.triggers.conftest import post_hook

pytestmark = pytest.mark.django_db

GITHUB_SECRET = "github-webhook-secret-1"


def _github_setup(api, org, s):
    client = api(org)
    installed = client.post("/api/v1/catalog/github/install")
    assert installed.status_code in (200, 201), installed.json()
    for customer, login in (("gh-x", "octo-x"), ("gh-y", "octo-y")):
        s.customer(customer)
        made = api(org, customer=customer).post(
            "/api/v1/connections",
            {
                "connector": "github",
                "credentials": {"access_token": f"tok-{login}"},
                "verify": False,
                "account_key": login,
            },
        )
        assert made.status_code == 201, made.json()
        assert made.json()["account_key"] == login
    return s.trigger("app_event", config={"connector": "github", "secret": GITHUB_SECRET, "event_types": ["push"]})


def _github_delivery(path, body: dict, *, event="push", delivery="d-1", secret=GITHUB_SECRET):
    from apps.connectors.signatures import sign

    raw = json.dumps(body).encode()
    headers = sign({"scheme": "github"}, secret, raw)
    return post_hook(path, raw, **headers, **{"X-GitHub-Event": event, "X-GitHub-Delivery": delivery})


def test_a_signed_github_webhook_reaches_the_right_customers_workflow(api, org_a, setup, in_org):
    from apps.triggers.models import Event
    from apps.workflows.models import Execution

    trigger = _github_setup(api, org_a, setup(org_a))
    assert trigger["url"].endswith("/github") and "/hooks/app/" in trigger["url"]
    path = urlparse(trigger["url"]).path
    push = {"ref": "refs/heads/main", "repository": {"name": "api", "owner": {"login": "octo-y"}}}
    response = _github_delivery(path, push)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["event_type"] == "push" and len(body["event_ids"]) == 1
    in_org(org_a)
    event = Event.objects.get(id=body["event_ids"][0])
    assert event.type == "app_event" and event.customer_external_id == "gh-y" and event.event_type == "push"
    assert event.source == "app:github" and event.dedup_key == "delivery:d-1"
    execution = Execution.objects.get(event_id=event.id)
    assert execution.customer_external_id == "gh-y" and execution.triggered_by == "app-event"
    assert execution.input["data"] == push and execution.input["event_type"] == "push"
    assert execution.input["connector"] == "github"

    # GitHub redelivers the same delivery: nothing new starts.
    again = _github_delivery(path, push)
    assert again.status_code == 202 and again.json()["event_ids"] == body["event_ids"]
    in_org(org_a)
    assert Execution.objects.filter(event_id=event.id).count() == 1


def test_github_deliveries_that_are_not_for_a_trigger_are_ignored_or_refused(api, org_a, setup, in_org):
    trigger = _github_setup(api, org_a, setup(org_a))
    path = urlparse(trigger["url"]).path
    push_x = {"repository": {"owner": {"login": "octo-x"}}}
    assert assert_error(_github_delivery(path, push_x, secret="wrong-secret"), 401, "invalid_signature")
    issues = _github_delivery(path, push_x, event="issues", delivery="d-2")
    assert issues.status_code == 200 and issues.json()["event_ids"] == [] and "issues" in issues.json()["ignored"]
    stranger = _github_delivery(path, {"repository": {"owner": {"login": "someone"}}}, delivery="d-3")
    assert stranger.status_code == 200 and "account key" in stranger.json()["ignored"]
    token = path.split("/")[3]
    assert_error(post_hook(f"/hooks/app/{token}/slack"), 404, "hook_not_found")
    assert_error(post_hook("/hooks/app/not-a-token/github"), 404, "hook_not_found")


def test_a_trigger_for_one_customer_only_takes_that_customers_events(api, org_a, setup, in_org):
    from apps.triggers.models import Event

    s = setup(org_a)
    broad = _github_setup(api, org_a, s)
    only_x = s.trigger(
        "app_event", config={"connector": "github", "secret": GITHUB_SECRET, "event_types": ["push"]}, customer="gh-x"
    )
    path = urlparse(broad["url"]).path
    _github_delivery(path, {"repository": {"owner": {"login": "octo-y"}}}, delivery="y-1")
    _github_delivery(path, {"repository": {"owner": {"login": "octo-x"}}}, delivery="x-1")
    in_org(org_a)
    assert sorted(Event.objects.filter(trigger_id=broad["id"]).values_list("customer_external_id", flat=True)) == [
        "gh-x",
        "gh-y",
    ]
    assert list(Event.objects.filter(trigger_id=only_x["id"]).values_list("customer_external_id", flat=True)) == [
        "gh-x"
    ]


def test_an_app_event_trigger_needs_the_providers_secret(api, org_a, setup):
    s = setup(org_a)
    assert api(org_a).post("/api/v1/catalog/github/install").status_code in (200, 201)
    response = api(org_a).post(
        "/api/v1/triggers", {"type": "app_event", "workflow": s.workflow(), "config": {"connector": "github"}}
    )
    assert "config.secret" in assert_error(response, 400)["details"]["fields"]


def test_rotating_the_app_event_url_stops_the_old_one(api, org_a, setup):
    trigger = _github_setup(api, org_a, setup(org_a))
    old = urlparse(trigger["url"]).path
    new = urlparse(api(org_a).post(f"/api/v1/triggers/{trigger['id']}/rotate-token").json()["url"]).path
    assert new != old
    assert_error(_github_delivery(old, {"repository": {"owner": {"login": "octo-x"}}}), 404, "hook_not_found")
    assert _github_delivery(new, {"repository": {"owner": {"login": "octo-x"}}}).status_code == 202


def test_a_shopify_connection_gets_its_account_key_from_the_shop(api, org_a, setup):
    s = setup(org_a)
    assert api(org_a).post("/api/v1/catalog/shopify/install").status_code in (200, 201)
    s.customer("shop-owner")
    made = api(org_a, customer="shop-owner").post(
        "/api/v1/connections",
        {"connector": "shopify", "credentials": {"access_token": "shpat"}, "config": {"shop": "acme"}, "verify": False},
    )
    assert made.status_code == 201, made.json()
    assert made.json()["account_key"] == "acme.myshopify.com"
    changed = api(org_a, customer="shop-owner").patch(
        f"/api/v1/connections/{made.json()['id']}", {"account_key": "other.myshopify.com"}
    )
    assert changed.json()["account_key"] == "other.myshopify.com"


# --- polling -----------------------------------------------------------------------------------------


def _polling_connector(api, org, httpserver):
    definition = {
        "slug": "feedy",
        "name": "Feedy",
        "base_url": httpserver.url_for("/"),
        "auth": {"type": "api_key", "in": "header", "name": "X-Key"},
        "actions": {"listItems": {"method": "GET", "path": "/items"}},
        "events": {
            "polling": {"action": "listItems", "items_path": "items", "id_path": "id", "event_type": "item.new"}
        },
    }
    created = api(org).post("/api/v1/connectors", definition)
    assert created.status_code == 201, created.json()


def test_a_polling_event_picks_up_only_new_records_across_two_ticks(api, org_a, setup, in_org, httpserver, settings):
    from apps.triggers.models import Event, PollCursor
    from apps.triggers.services.app_events import polls_run
    from apps.workflows.models import Execution

    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    s = setup(org_a)
    _polling_connector(api, org_a, httpserver)
    s.customer("poller")
    made = api(org_a, customer="poller").post(
        "/api/v1/connections", {"connector": "feedy", "credentials": {"api_key": "k"}, "verify": False}
    )
    assert made.status_code == 201, made.json()
    trigger = s.trigger("app_event", config={"connector": "feedy", "interval_seconds": 60})
    assert trigger["url"] is not None  # the organization's app URL (unused by polling connectors)

    httpserver.expect_ordered_request("/items").respond_with_json({"items": [{"id": 1}, {"id": 2}]})
    httpserver.expect_ordered_request("/items").respond_with_json(
        {"items": [{"id": 3, "v": "new"}, {"id": 1}, {"id": 2}]}
    )
    with time_machine.travel(dt.datetime(2026, 7, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        in_org(org_a)
        first = polls_run()
        assert first == {"polled": 1, "new": 0, "errors": 0}  # what exists already is the baseline
        assert polls_run()["polled"] == 0  # not due yet
        clock.shift(61)
        second = polls_run()
        assert second == {"polled": 1, "new": 1, "errors": 0}
    (event,) = Event.objects.filter(trigger_id=trigger["id"])
    assert event.payload == {"id": 3, "v": "new"} and event.customer_external_id == "poller"
    assert event.event_type == "item.new" and event.source == "poll:feedy"
    execution = Execution.objects.get(event_id=event.id)
    assert execution.input["data"] == {"id": 3, "v": "new"} and execution.input["delivery"] == "polling"
    cursor = PollCursor.objects.get(trigger_id=trigger["id"])
    assert cursor.seen_ids[0] == "3" and cursor.last_error == ""
    assert httpserver.log[0][0].headers["X-Key"] == "k"
    from apps.connectors.models import CallTrace

    assert CallTrace.objects.filter(connector_slug="feedy", origin="poll").count() == 2


def test_include_existing_takes_the_first_page_and_errors_are_kept(api, org_a, setup, in_org, httpserver, settings):
    from apps.triggers.models import Event, PollCursor
    from apps.triggers.services.app_events import polls_run

    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    s = setup(org_a)
    _polling_connector(api, org_a, httpserver)
    made = api(org_a).post(
        "/api/v1/connections?scope=organization",
        {"connector": "feedy", "credentials": {"api_key": "k"}, "verify": False},
    )
    assert made.status_code == 201, made.json()
    trigger = s.trigger(
        "app_event", config={"connector": "feedy", "interval_seconds": 60, "initial": "include_existing"}
    )
    httpserver.expect_ordered_request("/items").respond_with_json({"items": [{"id": "a"}, {"id": "b"}]})
    httpserver.expect_ordered_request("/items").respond_with_json({"error": "down"}, status=500)
    with time_machine.travel(dt.datetime(2026, 7, 2, 9, 0, tzinfo=UTC), tick=False) as clock:
        in_org(org_a)
        assert polls_run()["new"] == 2
        clock.shift(61)
        assert polls_run()["errors"] == 1
    assert Event.objects.filter(trigger_id=trigger["id"]).count() == 2
    assert "500" in PollCursor.objects.get(trigger_id=trigger["id"]).last_error


UTC = dt.UTC
