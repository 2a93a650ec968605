"""`POST /hooks/{token}`: intake, idempotency, signatures, allowlists, errors (no workers needed)."""

from __future__ import annotations

import json
import time

import pytest

from tests.core.test_errors import assert_error
from tests.triggers.conftest import fastn_signature, hook_path, post_hook

pytestmark = pytest.mark.django_db


def _event(in_org, org, event_id):
    from apps.triggers.models import Event

    in_org(org)
    return Event.objects.get(id=event_id)


def _executions(in_org, org, event_id):
    from apps.workflows.models import Execution

    in_org(org)
    return list(Execution.objects.filter(event_id=event_id))


def test_an_accepted_event_is_stored_before_the_202_with_its_execution(
    org_a, setup, in_org, django_capture_on_commit_callbacks
):
    trigger = setup(org_a).trigger("webhook")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_hook(hook_path(trigger), {"order": 1}, **{"X-Custom": "yes", "Authorization": "Bearer s3cret"})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert set(body) == {"event_id", "execution_id", "status"}
    event = _event(in_org, org_a, body["event_id"])
    assert event.type == "webhook" and event.payload == {"order": 1}
    assert event.status == "dispatched" and str(event.execution_id) == body["execution_id"]
    assert event.headers["x-custom"] == "yes" and "authorization" not in event.headers
    assert event.source_ip == "127.0.0.1"
    (execution,) = _executions(in_org, org_a, body["event_id"])
    assert execution.triggered_by == "webhook" and execution.input == {"order": 1}
    assert "authorization" not in execution.headers


def test_the_same_idempotency_key_twice_gives_one_execution_and_the_same_answer(org_a, setup, in_org):
    trigger = setup(org_a).trigger("webhook")
    first = post_hook(hook_path(trigger), {"n": 1}, **{"Idempotency-Key": "order-42"})
    second = post_hook(hook_path(trigger), {"n": 1}, **{"Idempotency-Key": "order-42"})
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert len(_executions(in_org, org_a, first.json()["event_id"])) == 1
    from apps.triggers.models import Event

    assert Event.objects.filter(trigger_id=trigger["id"]).count() == 1
    other = post_hook(hook_path(trigger), {"n": 1}, **{"Idempotency-Key": "order-43"})
    assert other.json()["event_id"] != first.json()["event_id"]


def test_a_provider_delivery_id_deduplicates_too(org_a, setup):
    trigger = setup(org_a).trigger("webhook", config={"dedup_header": "X-Delivery"})
    first = post_hook(hook_path(trigger), {}, **{"X-Delivery": "d-1"}).json()
    assert post_hook(hook_path(trigger), {}, **{"X-Delivery": "d-1"}).json()["event_id"] == first["event_id"]


def test_a_good_signature_is_accepted_and_a_bad_one_or_a_stale_timestamp_is_401(org_a, setup, in_org):
    trigger = setup(org_a).trigger("webhook", config={"signing": True})
    secret, path = trigger["signing_secret"], hook_path(trigger)
    body = json.dumps({"paid": True}).encode()
    ok = post_hook(path, body, **{"X-Fastn-Signature": fastn_signature(secret, body)})
    assert ok.status_code == 202, ok.json()
    assert "x-fastn-signature" not in _event(in_org, org_a, ok.json()["event_id"]).headers

    bad = post_hook(path, body, **{"X-Fastn-Signature": fastn_signature("whsec_wrong", body)})
    assert assert_error(bad, 401, "invalid_signature")["details"]["reason"] == "bad_signature"
    tampered = post_hook(path, b'{"paid": false}', **{"X-Fastn-Signature": fastn_signature(secret, body)})
    assert_error(tampered, 401, "invalid_signature")
    stale = post_hook(path, body, **{"X-Fastn-Signature": fastn_signature(secret, body, int(time.time()) - 301)})
    assert assert_error(stale, 401, "invalid_signature")["details"]["reason"] == "stale_timestamp"
    missing = post_hook(path, body)
    assert assert_error(missing, 401)["details"]["reason"] == "missing_header"
    from apps.triggers.models import Event

    in_org(org_a)
    assert Event.objects.filter(trigger_id=trigger["id"]).count() == 1  # refused requests are not events


def test_a_custom_header_and_tolerance_and_a_provider_scheme(org_a, setup, api):
    from apps.connectors.signatures import sign

    custom = setup(org_a).trigger(
        "webhook", config={"signing": True, "signature_header": "X-Sig", "tolerance_seconds": 10}
    )
    body = b'{"a": 1}'
    signed = fastn_signature(custom["signing_secret"], body, int(time.time()) - 20)
    assert post_hook(hook_path(custom), body, **{"X-Sig": signed}).status_code == 401
    fresh = fastn_signature(custom["signing_secret"], body)
    assert post_hook(hook_path(custom), body, **{"X-Sig": fresh}).status_code == 202

    github = setup(org_a).trigger("webhook", config={"signature": {"scheme": "github"}, "secret": "gh-webhook-secret"})
    assert "signing_secret" not in github  # the provider's secret was given, not generated
    headers = sign({"scheme": "github"}, "gh-webhook-secret", body)
    first = post_hook(hook_path(github), body, **headers, **{"X-GitHub-Delivery": "g-1"})
    assert first.status_code == 202
    again = post_hook(hook_path(github), body, **headers, **{"X-GitHub-Delivery": "g-1"})
    assert again.json()["event_id"] == first.json()["event_id"]


def test_the_ip_allowlist_refuses_other_addresses(org_a, setup):
    blocked = setup(org_a).trigger("webhook", config={"ip_allowlist": ["10.1.0.0/16"]})
    assert_error(post_hook(hook_path(blocked)), 403, "source_not_allowed")
    allowed = setup(org_a).trigger("webhook", config={"ip_allowlist": ["10.1.0.0/16", "127.0.0.1"]})
    assert post_hook(hook_path(allowed)).status_code == 202


def test_unknown_tokens_methods_and_bodies_answer_json_errors(org_a, setup, settings):
    from django.test import Client

    assert_error(post_hook("/hooks/not-a-token"), 404, "hook_not_found")
    assert_error(post_hook("/hooks/"), 404, "hook_not_found")
    assert_error(post_hook("/hooks/a/b/c/d"), 404, "hook_not_found")
    trigger = setup(org_a).trigger("webhook")
    path = hook_path(trigger)
    assert_error(Client().get(path), 405, "method_not_allowed")
    assert_error(post_hook(path, b'{"broken": '), 400, "malformed_json")
    settings.FASTN_MAX_BODY_BYTES = 100
    assert_error(post_hook(path, b"{" + b" " * 200 + b"}"), 413, "payload_too_large")


def test_other_content_types_arrive_as_objects(org_a, setup, in_org):
    trigger = setup(org_a).trigger("webhook")
    form = post_hook(hook_path(trigger), b"a=1&b=two", content_type="application/x-www-form-urlencoded")
    assert _event(in_org, org_a, form.json()["event_id"]).payload == {"a": "1", "b": "two"}
    text = post_hook(hook_path(trigger), b"hello", content_type="text/plain")
    assert _event(in_org, org_a, text.json()["event_id"]).payload == {"body": "hello"}
    empty = post_hook(hook_path(trigger), b"")
    assert _event(in_org, org_a, empty.json()["event_id"]).payload == {}


def test_a_disabled_trigger_is_409_and_an_undeployed_workflow_rejects_the_event(api, org_a, setup, in_org):
    s = setup(org_a)
    trigger = s.trigger("webhook")
    api(org_a).patch(f"/api/v1/triggers/{trigger['id']}", {"enabled": False})
    assert_error(post_hook(hook_path(trigger)), 409, "trigger_disabled")

    undeployed = s.trigger("webhook", workflow=s.workflow(deploy=False))
    error = assert_error(post_hook(hook_path(undeployed), {"x": 1}), 409, "not_deployed")
    event = _event(in_org, org_a, error["details"]["event_id"])
    assert event.status == "rejected" and event.error["code"] == "not_deployed" and event.execution_id is None


def test_a_workflow_turned_off_rejects_its_events(api, org_a, setup, in_org):
    s = setup(org_a)
    workflow = s.workflow()
    trigger = s.trigger("webhook", workflow=workflow)
    api(org_a).patch(f"/api/v1/workflows/{workflow}", {"enabled": False})
    error = assert_error(post_hook(hook_path(trigger)), 409, "workflow_disabled")
    assert _event(in_org, org_a, error["details"]["event_id"]).status == "rejected"


def test_events_are_metered_and_a_hard_block_is_429_with_the_event_rejected(make_org, setup, in_org):
    from apps.triggers.models import Event

    org = make_org(plan="free")  # events: 10 per minute, hard block
    trigger = setup(org).trigger("webhook")
    answers = [post_hook(hook_path(trigger), {"i": i}) for i in range(11)]
    assert [a.status_code for a in answers[:10]] == [202] * 10
    error = assert_error(answers[10], 429, "quota_exceeded")
    assert answers[10]["Retry-After"]
    in_org(org)
    rejected = Event.objects.get(status="rejected")
    assert rejected.error["code"] == "quota_exceeded" and rejected.execution_id is None
    assert error["details"]["dimension"] == "events_per_minute"


def test_hooks_of_one_organization_never_reach_another(org_a, org_b, setup, in_org):
    from apps.triggers.models import Event

    trigger = setup(org_a).trigger("webhook")
    body = post_hook(hook_path(trigger), {"secret": "of a"}).json()
    in_org(org_b)
    assert not Event.objects.filter(id=body["event_id"]).exists()
    in_org(org_a)
    assert Event.objects.filter(id=body["event_id"]).exists()


def test_deleting_the_workflow_takes_its_triggers_and_their_urls(api, org_a, setup):
    from apps.core.models import HookRoute

    s = setup(org_a)
    workflow = s.workflow()
    trigger = s.trigger("webhook", workflow=workflow)
    assert api(org_a).delete(f"/api/v1/workflows/{workflow}").status_code == 204
    assert_error(post_hook(hook_path(trigger)), 404, "hook_not_found")
    assert not HookRoute.objects.filter(target_id=trigger["id"]).exists()
