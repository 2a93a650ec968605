"""The end-user API stays lean: the same number of queries per call for one
integration or many (no query per connector, connection or template)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

CODE = "export default async function(ctx) { return ctx.config; }"
# Statements of the test harness, not of a request in production: savepoints
# (the test's transaction), and the scope role's GRANTs, which a process
# makes once per schema after a commit (tests never commit, so they repeat).
NOT_THE_APPS = ("SAVEPOINT", "RELEASE SAVEPOINT", "GRANT ", "ALTER DEFAULT PRIVILEGES", "SET search_path")
PATHS = (
    "/api/v1/embed/config",
    "/api/v1/embed/connections",
    "/api/v1/embed/templates",
    "/api/v1/embed/executions",
    "/api/v1/embed/insights",
)


def _queries(client) -> dict[str, int]:
    client.get("/api/v1/embed/config")  # warm the per-process cache of connector definitions
    counts = {}
    for path in PATHS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200, response.content
        counts[path] = len([q for q in captured.captured_queries if not q["sql"].startswith(NOT_THE_APPS)])
    return counts


def test_calls_cost_the_same_queries_for_one_or_many_integrations(org_a, embedding, fake_api, private_network):
    side = embedding(org_a)
    workflow = side.workflow(CODE)
    customer = side.customer()
    client = side.embed(customer)
    slugs, templates = [], []

    def grow(n: int) -> None:
        slug = f"qapp-{n}"
        side.client.post("/api/v1/connectors", fake_api.definition(slug))
        slugs.append(slug)
        templates.append(
            side.template(
                slug=f"qtpl-{n}",
                workflow=workflow,
                title=f"T{n}",
                connectors=[slug],
                trigger={"type": "webhook", "config": {}},
            )["slug"]
        )
        side.widget(integrations=[{"connector": s} for s in slugs], templates=templates)
        client.post("/api/v1/embed/connections", {"connector": slug, "credentials": {"api_key": "key-1"}})
        client.post(f"/api/v1/embed/templates/qtpl-{n}/enable", {})

    grow(0)
    one = _queries(client)
    for n in range(1, 6):
        grow(n)
    six = _queries(client)
    assert six == one, (one, six)
    # Session, customer, widget, the RLS scope (five statements), then the view's own reads.
    assert max(one.values()) <= 16, one
    print("queries per end-user call:", one)
