"""Every system role against the real endpoints: allowed and denied, for each
resource and action. Denials are 403 and audited.

Each row names a resource, an action, and how to call it; a row's `setup`
prepares what the call needs (in the organization's schema) and returns
values for the path and body. More resources are added as rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from apps.accounts.roles import SYSTEM_ROLE_PERMISSIONS, SystemRole
from apps.settings.models import AuditEvent

pytestmark = pytest.mark.django_db


def _customer(org):
    from apps.settings.models import Customer

    external_id = f"c-{uuid.uuid4().hex[:8]}"
    Customer.objects.create(external_id=external_id, name="Row customer")
    return {"id": external_id}


def _secret(org):
    from apps.core import crypto
    from apps.settings.models import Secret

    name = f"S_{uuid.uuid4().hex[:8]}"
    Secret.objects.create(name=name, ciphertext=crypto.encrypt("v"))
    return {"id": name}


def _api_key(org):
    from apps.accounts.principals import Principal
    from apps.settings.services import api_key_create

    key, _ = api_key_create(
        actor=Principal.system(organization=org.organization), name="row", kind="test", role="viewer"
    )
    return {"id": str(key.id)}


def _environment(org):
    from apps.settings.models import Environment

    slug = f"env-{uuid.uuid4().hex[:6]}"
    Environment.objects.create(slug=slug, name=slug)
    return {"id": slug}


def _role(org):
    from apps.settings.models import CustomRole

    slug = f"role-{uuid.uuid4().hex[:6]}"
    CustomRole.objects.create(slug=slug, name=slug, permissions=["customers.view"])
    return {"id": slug}


def _member(org):
    from apps.accounts.models import Membership, User

    user = User.objects.create_user(email=f"m-{uuid.uuid4().hex[:8]}@alpha.test", password="x")
    membership = Membership.objects.create(user=user, organization=org.organization, role="viewer")
    return {"id": str(membership.public_id)}


def _team(org):
    from apps.accounts.models import Team

    slug = f"team-{uuid.uuid4().hex[:6]}"
    Team.objects.create(organization=org.organization, slug=slug, name=slug)
    return {"id": slug}


WORKFLOW_CODE = "export default async (ctx) => 1"


def _workflow(org, *, published: bool = False, deployed: bool = False):
    from apps.accounts.principals import Principal
    from apps.workflows import services

    system = Principal.system(organization=org.organization)
    workflow = services.workflow_create(actor=system, name=f"W {uuid.uuid4().hex[:8]}", code=WORKFLOW_CODE)
    if published or deployed:
        services.workflow_publish(actor=system, workflow=workflow)
    if deployed:
        services.workflow_deploy(actor=system, workflow=workflow, version_number=1, environment_slug="production")
    return {"id": workflow.slug}


def _published_workflow(org):
    return _workflow(org, published=True)


def _deployed_workflow(org):
    return _workflow(org, deployed=True)


def _connector(org):
    from apps.accounts.principals import Principal
    from apps.connectors.services import connector_create

    slug = f"api-{uuid.uuid4().hex[:6]}"
    connector_create(actor=Principal.system(organization=org.organization), definition=_definition(slug))
    return {"id": slug}


def _definition(slug: str) -> dict:
    return {
        "slug": slug,
        "name": "Row API",
        "base_url": "https://api.example.com",
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
        "actions": {"ping": {"method": "GET", "path": "/ping"}},
    }


def _unique(org):
    return {"id": uuid.uuid4().hex[:8]}


@dataclass(frozen=True)
class Row:
    resource: str
    action: str
    method: str
    path: str  # may contain {id}
    ok: int
    body: Callable[[dict], dict] | None = None
    setup: Callable = _unique
    marks: tuple = field(default=())

    @property
    def permission(self) -> str:
        return f"{self.resource}.{self.action}"

    def __str__(self) -> str:
        return f"{self.method} {self.permission}"


ROWS = [
    Row("customers", "view", "get", "/api/v1/customers", 200),
    Row("customers", "create", "post", "/api/v1/customers", 201, lambda v: {"external_id": v["id"], "name": "N"}),
    Row("customers", "edit", "patch", "/api/v1/customers/{id}", 200, lambda v: {"name": "Renamed"}, _customer),
    Row("customers", "delete", "delete", "/api/v1/customers/{id}", 204, setup=_customer),
    Row("secrets", "view", "get", "/api/v1/secrets", 200),
    Row("secrets", "create", "post", "/api/v1/secrets", 201, lambda v: {"name": f"N{v['id']}", "value": "x"}),
    Row("secrets", "edit", "put", "/api/v1/secrets/{id}", 200, lambda v: {"value": "new"}, _secret),
    Row("secrets", "delete", "delete", "/api/v1/secrets/{id}", 204, setup=_secret),
    Row("api_keys", "view", "get", "/api/v1/api-keys", 200),
    Row(
        "api_keys", "create", "post", "/api/v1/api-keys", 201, lambda v: {"name": "k", "kind": "test", "role": "viewer"}
    ),
    Row("api_keys", "delete", "delete", "/api/v1/api-keys/{id}", 204, setup=_api_key),
    Row("environments", "view", "get", "/api/v1/environments", 200),
    Row("environments", "create", "post", "/api/v1/environments", 201, lambda v: {"slug": f"e-{v['id']}"}),
    Row("environments", "edit", "patch", "/api/v1/environments/{id}", 200, lambda v: {"name": "QA"}, _environment),
    Row("environments", "delete", "delete", "/api/v1/environments/{id}", 204, setup=_environment),
    Row("audit_log", "view", "get", "/api/v1/audit-log", 200),
    Row("roles", "view", "get", "/api/v1/roles", 200),
    Row(
        "roles",
        "create",
        "post",
        "/api/v1/roles",
        201,
        lambda v: {"slug": f"r-{v['id']}", "name": "R", "permissions": ["customers.view"]},
    ),
    Row("roles", "edit", "patch", "/api/v1/roles/{id}", 200, lambda v: {"name": "Renamed"}, _role),
    Row("roles", "delete", "delete", "/api/v1/roles/{id}", 204, setup=_role),
    Row("members", "view", "get", "/api/v1/members", 200),
    Row("members", "view", "get", "/api/v1/teams", 200),
    Row(
        "members",
        "create",
        "post",
        "/api/v1/invites",
        201,
        lambda v: {"email": f"{v['id']}@new.test", "role": "viewer"},
    ),
    Row("members", "create", "post", "/api/v1/teams", 201, lambda v: {"name": f"Team {v['id']}"}),
    Row("members", "edit", "patch", "/api/v1/members/{id}", 200, lambda v: {"status": "suspended"}, _member),
    Row("members", "edit", "patch", "/api/v1/teams/{id}", 200, lambda v: {"name": "Renamed"}, _team),
    Row("members", "delete", "delete", "/api/v1/members/{id}", 204, setup=_member),
    Row("members", "delete", "delete", "/api/v1/teams/{id}", 204, setup=_team),
    Row("workflows", "view", "get", "/api/v1/workflows", 200),
    Row("workflows", "view", "get", "/api/v1/workflows/{id}", 200, setup=_workflow),
    Row("workflows", "view", "get", "/api/v1/executions", 200),
    Row("workflows", "create", "post", "/api/v1/workflows", 201, lambda v: {"name": v["id"], "code": WORKFLOW_CODE}),
    Row("workflows", "edit", "patch", "/api/v1/workflows/{id}", 200, lambda v: {"description": "d"}, _workflow),
    Row("workflows", "delete", "delete", "/api/v1/workflows/{id}", 204, setup=_workflow),
    Row("workflows", "publish", "post", "/api/v1/workflows/{id}/publish", 201, lambda v: {}, _workflow),
    Row(
        "workflows",
        "deploy",
        "post",
        "/api/v1/workflows/{id}/deploy",
        200,
        lambda v: {"version": 1, "environment": "production"},
        _published_workflow,
    ),
    Row("workflows", "run", "post", "/api/v1/workflows/{id}/run", 202, lambda v: {}, _deployed_workflow),
    Row("connectors", "view", "get", "/api/v1/connectors", 200),
    Row("connectors", "view", "get", "/api/v1/catalog", 200),
    Row("connectors", "create", "post", "/api/v1/connectors", 201, lambda v: _definition(f"c-{v['id']}")),
    Row("connectors", "edit", "patch", "/api/v1/connectors/{id}", 200, lambda v: {"name": "Renamed"}, _connector),
    Row("connectors", "delete", "delete", "/api/v1/connectors/{id}", 204, setup=_connector),
    Row("organization", "view", "get", "/api/v1/organization", 200),
    Row("organization", "view", "get", "/api/v1/email-domains", 200),
    Row("organization", "edit", "patch", "/api/v1/organization", 200, lambda v: {"timezone": "Europe/Berlin"}),
    Row(
        "organization",
        "edit",
        "post",
        "/api/v1/email-domains",
        201,
        lambda v: {"domain": f"d{v['id']}.example", "auto_approve": False},
    ),
]


@pytest.mark.parametrize("role", list(SystemRole), ids=lambda r: r.value)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_system_role_against_endpoint(api, org_a, role_key, in_org, role, row):
    allowed = row.permission in SYSTEM_ROLE_PERMISSIONS[role]
    in_org(org_a)
    values = row.setup(org_a)
    client = api(org_a, key=role_key(org_a, role.value, "live"))
    path = row.path.format(**values)
    body = row.body(values) if row.body else None
    response = getattr(client, row.method)(path, body) if body is not None else getattr(client, row.method)(path)
    in_org(org_a)
    denied = AuditEvent.objects.filter(
        outcome="denied", action=row.permission, actor_label__contains=f"{role.value} key"
    )
    if allowed:
        assert response.status_code == row.ok, response.content
        assert not denied.exists()
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
        assert denied.exists()


def test_every_matrix_row_names_a_real_permission():
    from apps.accounts.roles import ALL_PERMISSIONS

    assert {row.permission for row in ROWS} <= ALL_PERMISSIONS
