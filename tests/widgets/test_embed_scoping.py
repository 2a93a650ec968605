"""Every /api/v1/embed route, table-driven: who may call it (a live session
of this organization's customer, nothing else), what it sees (one customer),
where from (origins, CORS), and how much (the customer's quota)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine

from tests.widgets.conftest import EmbedClient

pytestmark = pytest.mark.django_db

CODE = "export default async function(ctx) { return {config: ctx.config, input: ctx.input}; }"

# (method, path, body): {connection} and {template} are filled in per test.
ROUTES = [
    ("GET", "/api/v1/embed/config", None),
    ("GET", "/api/v1/embed/connections", None),
    ("POST", "/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": "key-z"}}),
    ("GET", "/api/v1/embed/connections/{connection}", None),
    ("PATCH", "/api/v1/embed/connections/{connection}", {"config": {}}),
    ("DELETE", "/api/v1/embed/connections/{connection}", None),
    ("GET", "/api/v1/embed/templates", None),
    ("GET", "/api/v1/embed/templates/{template}", None),
    ("POST", "/api/v1/embed/templates/{template}/enable", {"config": {"channel": "x"}}),
    ("DELETE", "/api/v1/embed/templates/{template}", None),
    ("POST", "/api/v1/embed/oauth/keyapp/authorize", None),
    ("GET", "/api/v1/embed/executions", None),
    ("GET", "/api/v1/embed/executions/{execution}", None),
    ("GET", "/api/v1/embed/insights", None),
]
WRITE_ROUTES = [r for r in ROUTES if r[0] in ("POST", "PATCH")]


class World:
    """Organization A with customers a1, a2 (a2 connected, template enabled);
    organization B with its own customer, connection and template."""

    def __init__(self, embedding, fake_api, org_a, org_b):
        self.sides = {}
        self.objects = {}
        for name, org in (("a", org_a), ("b", org_b)):
            side = embedding(org)
            side.client.post("/api/v1/connectors", fake_api.definition("keyapp"))
            workflow = side.workflow(CODE)
            slug = f"tpl-{uuid.uuid4().hex[:6]}"
            side.template(
                slug=slug,
                workflow=workflow,
                title="Sync",
                connectors=["keyapp"],
                config_schema={"type": "object", "properties": {"channel": {"type": "string"}}},
                trigger={"type": "webhook", "config": {}},
            )
            side.widget(integrations=[{"connector": "keyapp"}], templates=[slug])
            owner = side.customer()
            client = side.embed(owner)
            connection = client.post(
                "/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": "key-" + name}}
            ).json()["id"]
            assert (
                client.post(f"/api/v1/embed/templates/{slug}/enable", {"config": {"channel": name}}).status_code == 201
            )
            self.sides[name] = side
            self.objects[name] = {
                "connection": connection,
                "template": slug,
                "customer": owner,
                "client": client,
                "execution": self._run(org, owner, workflow),
            }

    @staticmethod
    def _run(org, customer: str, workflow: str) -> str:
        """An execution of the template's workflow for the customer, as a worker leaves it."""
        from apps.core.tenancy import organization_context
        from apps.settings.models import Customer
        from apps.workflows.models import Execution

        with organization_context(org.organization):
            row = Execution.objects.create(
                workflow_slug=workflow,
                version_number=1,
                environment="production",
                tier="standard",
                status="completed",
                triggered_by="webhook",
                timeout_ms=1000,
                customer=Customer.objects.get(external_id=customer),
                customer_external_id=customer,
            )
        return str(row.id)

    def path(self, template: str, owner: str = "a") -> str:
        keys = ("connection", "template", "execution")
        return template.format(**{k: v for k, v in self.objects[owner].items() if k in keys})


@pytest.fixture
def world(embedding, fake_api, private_network, org_a, org_b):
    return World(embedding, fake_api, org_a, org_b)


def _call(client, method, path, body):
    if method == "GET":
        return client.get(path)
    if method == "DELETE":
        return client.delete(path)
    return getattr(client, method.lower())(path, body)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_refuses_callers_without_a_live_session(world, api, org_a, method, path, body):
    side = world.sides["a"]
    customer = world.objects["a"]["customer"]
    target = world.path(path)
    expired = side.session(customer, ttl_seconds=60)
    revoked = side.session(customer)
    side.client.delete(f"/api/v1/customers/{customer}/sessions/{revoked['id']}")
    expires = dt.datetime.fromisoformat(expired["expires_at"].replace("Z", "+00:00"))
    callers = {
        "no token": EmbedClient(None),
        "garbage": EmbedClient("not-a-token"),
        "unknown": EmbedClient("fastn_cs_" + "x" * 43),
        "revoked": EmbedClient(revoked["token"]),
        "org api key": api(org_a),
    }
    for name, client in callers.items():
        response = _call(client, method, target, body)
        assert response.status_code == 401, (name, response.content)
        assert "error" in response.json()
    with time_machine.travel(expires + dt.timedelta(seconds=5), tick=False):
        response = _call(EmbedClient(expired["token"]), method, target, body)
    assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"


@pytest.mark.parametrize(
    ("method", "path", "body"), [r for r in ROUTES if "{connection}" in r[1] or "{execution}" in r[1]]
)
def test_another_customers_connection_or_run_is_not_found(world, method, path, body):
    side = world.sides["a"]
    intruder = side.embed(side.customer())
    response = _call(intruder, method, world.path(path), body)
    assert response.status_code == 404, response.content
    owner = world.objects["a"]["client"]
    assert owner.get(world.path("/api/v1/embed/connections/{connection}")).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), [r for r in ROUTES if "{" in r[1]])
def test_another_organizations_objects_do_not_exist_here(world, method, path, body):
    client = world.objects["a"]["client"]
    response = _call(client, method, world.path(path, owner="b"), body)
    assert response.status_code == 404, response.content
    # ...and B's are untouched.
    b = world.objects["b"]["client"]
    assert b.get(world.path("/api/v1/embed/connections/{connection}", owner="b")).status_code == 200
    assert b.get(world.path("/api/v1/embed/templates/{template}", owner="b")).json()["enabled"] is True


def test_a_customer_sees_only_its_own_connections_templates_and_state(world):
    side = world.sides["a"]
    other = side.embed(side.customer())
    assert other.get("/api/v1/embed/connections").json()["results"] == []
    assert other.get("/api/v1/embed/executions").json()["results"] == []
    assert other.get("/api/v1/embed/insights").json()["runs_today"] == 0
    owner_runs = world.objects["a"]["client"].get("/api/v1/embed/executions").json()["results"]
    assert [r["id"] for r in owner_runs] == [world.objects["a"]["execution"]]
    templates = other.get("/api/v1/embed/templates").json()["results"]
    assert [(t["slug"], t["enabled"], t["activation"]) for t in templates] == [
        (world.objects["a"]["template"], False, None)
    ]
    assert templates[0]["missing_connectors"] == ["keyapp"]
    # Switching it off for this customer leaves the owner's activation alone.
    assert other.delete(world.path("/api/v1/embed/templates/{template}")).status_code == 204
    owner = world.objects["a"]["client"]
    mine = owner.get(world.path("/api/v1/embed/templates/{template}")).json()
    assert mine["enabled"] is True and mine["config"] == {"channel": "a"}
    config = other.get("/api/v1/embed/config").json()
    assert config["integrations"][0]["connected"] is False


@pytest.mark.parametrize(("method", "path", "body"), WRITE_ROUTES)
def test_bad_bodies_on_write_routes(world, method, path, body, settings):
    client = world.objects["a"]["client"]
    target = world.path(path)
    response = client.call(method, target, raw="{not json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json", response.content
    response = client.call(method, target, raw="[1]")
    assert response.status_code == 400, response.content
    response = client.call(method, target, {**(body or {}), "unexpected": True})
    assert response.status_code == 400 and "unexpected" in response.json()["error"]["details"]["fields"]
    settings.FASTN_MAX_BODY_BYTES = 500
    response = client.call(method, target, raw='{"config": {"x": "' + "y" * 1000 + '"}}')
    assert response.status_code == 413


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "0b7e6c1a-5f0e-4c57-9b8a-2f1e1d5c9a00", "%00", "x" * 300])
def test_bad_ids_in_paths_are_404(world, bad_id):
    client = world.objects["a"]["client"]
    for method in ("GET", "PATCH", "DELETE"):
        response = client.call(
            method, f"/api/v1/embed/connections/{bad_id}", {"config": {}} if method == "PATCH" else None
        )
        assert response.status_code in (400, 404), (method, response.content)
    assert client.get(f"/api/v1/embed/templates/{bad_id}").status_code in (400, 404)
    assert client.post(f"/api/v1/embed/templates/{bad_id}/enable", {}).status_code in (400, 404)
    assert client.get("/api/v1/embed/nothing-here").status_code == 404


# --- origins and CORS ----------------------------------------------------------------------------


def test_a_session_bound_to_an_origin_refuses_calls_from_others(world):
    side = world.sides["a"]
    token = side.session(world.objects["a"]["customer"], allowed_origin="https://app.alpha.example")["token"]
    allowed = EmbedClient(token, origin="https://app.alpha.example").get("/api/v1/embed/config")
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == "https://app.alpha.example"
    refused = EmbedClient(token, origin="https://evil.example").get("/api/v1/embed/config")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused
    opaque = EmbedClient(token, origin="null").get("/api/v1/embed/config")
    assert opaque.status_code == 403
    # A server-side call (no Origin) is not a browser's: the token decides.
    assert EmbedClient(token).get("/api/v1/embed/config").status_code == 200


def test_the_widgets_allowed_origins_apply_to_sessions_without_their_own(world):
    side = world.sides["a"]
    side.widget(allowed_origins=["https://one.example", "https://two.example:8443"])
    token = side.session(world.objects["a"]["customer"])["token"]
    for origin in ("https://one.example", "https://two.example:8443"):
        response = EmbedClient(token, origin=origin).get("/api/v1/embed/connections")
        assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == origin
    assert EmbedClient(token, origin="https://two.example").get("/api/v1/embed/config").status_code == 403
    assert EmbedClient(token, origin="http://one.example").get("/api/v1/embed/config").status_code == 403
    # Fastn's own origin (the dashboard's Live Preview) is always allowed.
    assert EmbedClient(token, origin="http://testserver").get("/api/v1/embed/config").status_code == 200


def test_preflights_answer_only_origins_some_widget_or_session_allows(world):
    world.sides["a"].widget(allowed_origins=["https://shop.alpha.example"])

    def preflight(origin, path="/api/v1/embed/config"):
        from django.test import Client

        return Client().options(
            path,
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
        )

    good = preflight("https://shop.alpha.example")
    assert good.status_code == 200 and good["Access-Control-Allow-Origin"] == "https://shop.alpha.example"
    assert "authorization" in good["Access-Control-Allow-Headers"]
    assert "DELETE" in good["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in good
    bad = preflight("https://evil.example")
    assert "Access-Control-Allow-Origin" not in bad
    # CORS is off outside the end-user API, even for an allowed origin.
    elsewhere = preflight("https://shop.alpha.example", path="/api/v1/workflows")
    assert "Access-Control-Allow-Origin" not in elsewhere
    # An origin named only by a live session passes the preflight too.
    side = world.sides["a"]
    side.session(world.objects["a"]["customer"], allowed_origin="https://session-only.example")
    assert preflight("https://session-only.example")["Access-Control-Allow-Origin"] == "https://session-only.example"


def test_a_refused_token_still_reads_its_401_from_an_allowed_origin(world):
    world.sides["a"].widget(allowed_origins=["https://shop.alpha.example"])
    response = EmbedClient("fastn_cs_gone", origin="https://shop.alpha.example").get("/api/v1/embed/config")
    assert response.status_code == 401 and response["Access-Control-Allow-Origin"] == "https://shop.alpha.example"
    response = EmbedClient("fastn_cs_gone", origin="https://evil.example").get("/api/v1/embed/config")
    assert "Access-Control-Allow-Origin" not in response


# --- quota -------------------------------------------------------------------------------------------


def test_every_end_user_call_counts_against_the_customers_quota(make_org, embedding, in_org):
    from apps.accounts.principals import Principal
    from apps.billing.services import customer_limits_set

    org = make_org()
    side = embedding(org)
    limited, free = side.customer("limited-1"), side.customer("free-1")
    in_org(org)
    customer_limits_set(
        actor=Principal.system(organization=org.organization, label="test"),
        external_id=limited,
        limits={"api_calls_per_minute": 3},
        enforcement={},
    )
    limited_client, free_client = side.embed(limited), side.embed(free)
    with time_machine.travel(dt.datetime(2026, 4, 1, 10, 0, 5, tzinfo=dt.UTC), tick=False):
        statuses = [limited_client.get(path).status_code for path in ["/api/v1/embed/config"] * 3]
        blocked = limited_client.get("/api/v1/embed/connections")
        other = [free_client.get("/api/v1/embed/config").status_code for _ in range(5)]
    assert statuses == [200, 200, 200]
    assert blocked.status_code == 429, blocked.content
    assert blocked["Retry-After"]
    error = blocked.json()["error"]
    assert error["details"]["dimension"] == "api_calls_per_minute" and error["details"]["customer"] == limited
    assert other == [200] * 5
