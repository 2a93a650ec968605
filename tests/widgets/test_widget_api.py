"""GET/PUT /api/v1/widget: layout, design tokens, integrations, templates, origins."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

KEYAPP = {
    "slug": "w-keyapp",
    "name": "Key App",
    "base_url": "https://api.keyapp.example",
    "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
    "actions": {"ping": {"method": "GET", "path": "/ping"}},
}


def test_a_new_organization_has_a_default_widget(make_org, embedding):
    side = embedding(make_org())
    body = side.client.get("/api/v1/widget").json()
    assert body["title"] == "Integrations" and body["integrations"] == [] and body["allowed_origins"] == []
    assert body["style"]["color-primary"] == "#4f46e5"  # every token, defaults included


def test_put_sets_the_fields_given_and_keeps_the_others(org_a, embedding):
    side = embedding(org_a)
    side.connector(KEYAPP)
    side.connector({**KEYAPP, "slug": "w-other", "name": "Other"})
    body = side.widget(
        title="Connect your apps",
        subtitle="Sync your data",
        style={"color-primary": "#ff0066", "radius": "4px", "font-family": "Inter, sans-serif"},
        integrations=[{"connector": "w-other"}, {"connector": "w-keyapp", "label": "Key App (beta)"}],
        allowed_origins=["https://App.Example.com/", "http://localhost:3000"],
    )
    assert body["title"] == "Connect your apps"
    assert body["integrations"] == [
        {"connector": "w-other", "label": ""},
        {"connector": "w-keyapp", "label": "Key App (beta)"},
    ]
    assert body["allowed_origins"] == ["https://app.example.com", "http://localhost:3000"]
    assert body["style"]["color-primary"] == "#ff0066" and body["style"]["color-text"] == "#0f172a"
    again = side.widget(subtitle="")
    assert again["title"] == "Connect your apps" and again["subtitle"] == ""
    assert again["integrations"][1]["label"] == "Key App (beta)"
    log = side.client.get("/api/v1/audit-log", {"action": "widget.update"}).json()["results"]
    assert log and log[0]["resource_type"] == "widget"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": 5}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"subtitle": ["a"]}, "subtitle"),
        ({"style": "dark"}, "style"),
        ({"style": {"colour-primary": "#fff"}}, "style.colour-primary"),
        ({"style": {"color-primary": "red; background: url(https://evil.example)"}}, "style.color-primary"),
        ({"style": {"color-primary": "#12345"}}, "style.color-primary"),
        ({"style": {"radius": "4px}body{display:none"}}, "style.radius"),
        ({"style": {"font-family": "x</style><script>"}}, "style.font-family"),
        ({"style": {"shadow-card": "0 0 1px url(x)"}}, "style.shadow-card"),
        ({"style": {"radius": 4}}, "style.radius"),
        ({"integrations": {"connector": "w-keyapp"}}, "integrations"),
        ({"integrations": ["w-keyapp"]}, "integrations[0]"),
        ({"integrations": [{"connector": "nope"}]}, "integrations[0].connector"),
        ({"integrations": [{"connector": "w-keyapp"}, {"connector": "w-keyapp"}]}, "integrations[1].connector"),
        ({"integrations": [{"connector": "w-keyapp", "label": 3}]}, "integrations[0].label"),
        ({"integrations": [{"connector": "w-keyapp", "logo": "x"}]}, "integrations[0].logo"),
        ({"templates": ["no-such-template"]}, "templates[0]"),
        ({"templates": "all"}, "templates"),
        ({"allowed_origins": ["https://app.example.com/page"]}, "allowed_origins[0]"),
        ({"allowed_origins": ["*"]}, "allowed_origins[0]"),
        ({"allowed_origins": ["ftp://files.example.com"]}, "allowed_origins[0]"),
        ({"allowed_origins": "https://app.example.com"}, "allowed_origins"),
        ({"layout": "tabs"}, "layout"),
    ],
)
def test_bad_widget_bodies_answer_400_naming_the_field(org_a, embedding, body, field):
    side = embedding(org_a)
    side.client.post("/api/v1/connectors", KEYAPP)
    response = side.client.put("/api/v1/widget", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"], response.json()


def test_malformed_and_oversized_widget_bodies(org_a, embedding, settings):
    side = embedding(org_a)
    assert side.client.put("/api/v1/widget", raw="{").json()["error"]["code"] == "malformed_json"
    assert side.client.put("/api/v1/widget", raw='"title"').status_code == 400
    settings.FASTN_MAX_BODY_BYTES = 2000
    assert side.client.put("/api/v1/widget", raw='{"title": "' + "x" * 3000 + '"}').status_code == 413


def test_each_organization_has_its_own_widget(org_a, org_b, embedding):
    embedding(org_a).widget(title="Alpha apps", allowed_origins=["https://alpha.example"])
    body = embedding(org_b).client.get("/api/v1/widget").json()
    assert body["title"] != "Alpha apps" and "https://alpha.example" not in body["allowed_origins"]


def test_viewers_read_the_widget_and_cannot_change_it(org_a, api, role_key):
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert viewer.get("/api/v1/widget").status_code == 200
    assert viewer.put("/api/v1/widget", {"title": "Mine"}).status_code == 403
    end_user = api(org_a, key=role_key(org_a, "end_user"))
    assert end_user.put("/api/v1/widget", {"title": "Mine"}).status_code == 403


def test_the_design_tokens_their_presets_and_the_css_export(org_a, embedding):
    side = embedding(org_a)
    side.widget(style={"color-primary": "#123456"})
    body = side.client.get("/api/v1/widget/tokens").json()
    names = {token["name"] for token in body["tokens"]}
    assert {"color-primary", "font-family", "radius", "shadow-card"} <= names
    assert set(body["presets"]) >= {"light", "dark"}
    assert all(set(preset) == names for preset in body["presets"].values())
    assert "--fastn-color-primary: #123456;" in body["css"]
    # Every preset passes the checks the widget's PUT applies.
    for preset in body["presets"].values():
        assert side.client.put("/api/v1/widget", {"style": preset}).status_code == 200


def test_allowed_origins_are_indexed_publicly_for_preflights(org_a, embedding):
    from apps.widgets.shared.models import EmbedOrigin

    side = embedding(org_a)
    side.widget(allowed_origins=["https://one.example", "https://two.example"])
    stored = set(EmbedOrigin.objects.filter(organization=org_a.organization).values_list("origin", flat=True))
    assert stored == {"https://one.example", "https://two.example"}
    side.widget(allowed_origins=["https://two.example"])
    stored = set(EmbedOrigin.objects.filter(organization=org_a.organization).values_list("origin", flat=True))
    assert stored == {"https://two.example"}
