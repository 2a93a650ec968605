"""Test data, made with factory-boy through the product's own services.

What a service adds comes along: an organization is a clone of the template
schema with its Owner, environments and Test/Live keys; a workflow gets its
versions (with content hashes) and deployments; a trigger its hook route and
token; API keys are stored hashed; every write is audited as in production.
Executions are the exception: `ExecutionFactory` writes the row a worker
leaves behind, since running one takes workers.

Rows of an organization's schema need `org` (an `OrgFixture`, as the
`org_a`/`make_org`/`live_org` fixtures give, or `OrganizationFactory()`).
A factory makes them inside that schema and then restores the connection's
previous schema; it acts as the organization's system principal.

    org = OrganizationFactory(plan="free")
    workflow = WorkflowFactory(org=org, deploy="production")   # v1, deployed
    execution = ExecutionFactory(org=org, workflow=workflow, status="failed")
    trigger = TriggerFactory(org=org, workflow=workflow)       # trigger.once["token"]

Import it inside fixtures and tests (Django must be set up first); module
import itself touches no model, so pure test packages are unaffected.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import factory
import factory.django

PASSWORD = "correct-horse-battery"
CODE = "export default async function (ctx) { return {ok: true, input: ctx.input}; }"


@dataclass
class OrgFixture:
    organization: object
    owner: object
    owner_password: str
    keys: dict  # kind → raw key

    @property
    def account_id(self) -> str:
        return str(self.organization.account_id)

    @property
    def slug(self) -> str:
        return self.organization.slug


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


@contextmanager
def _inside(org: OrgFixture):
    """The organization's schema for the block, and its system principal."""
    from apps.accounts.principals import Principal
    from apps.core.tenancy import organization_context

    with organization_context(org.organization):
        yield Principal.system(organization=org.organization, label="test")


class OrganizationFactory(factory.Factory):
    """An organization made by `organization_create` (a clone of the template
    schema), as an OrgFixture. Tests' organizations default to the
    `unlimited` plan: the suite makes many API calls through them.

    A leftover organization of the same name (an earlier run with
    --reuse-db) and a user of the same address are removed first.
    """

    class Meta:
        model = OrgFixture

    name = factory.LazyFunction(lambda: f"Org {_suffix()}")
    owner_email = factory.LazyFunction(lambda: f"owner-{_suffix()}@org.test")
    owner_password = PASSWORD
    plan = "unlimited"
    timezone_name = "UTC"

    @classmethod
    def _create(cls, model_class, *, name, owner_email, owner_password, plan, timezone_name):
        from apps.accounts.models import User
        from apps.core.models import Organization
        from apps.core.services import organization_create, organization_slug_for

        stale = Organization.objects.filter(slug=organization_slug_for(name)).first()
        if stale is not None:
            stale.delete(force_drop=True)
        User.objects.filter(email__iexact=owner_email).delete()
        created = organization_create(
            name=name,
            owner_email=owner_email,
            owner_password=owner_password,
            plan_slug=plan,
            timezone_name=timezone_name,
        )
        owner = User.objects.get(email__iexact=owner_email)
        return model_class(created.organization, owner, owner_password, created.api_keys)


class UserFactory(factory.django.DjangoModelFactory):
    """A person who can sign in (email + password)."""

    class Meta:
        model = "accounts.User"

    email = factory.LazyFunction(lambda: f"user-{_suffix()}@people.test")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *, email, password, **fields):
        return model_class.objects.create_user(email=email, password=password, **fields)


class MembershipFactory(factory.django.DjangoModelFactory):
    """A user's membership of an organization, with a role (`org=` an OrgFixture)."""

    class Meta:
        model = "accounts.Membership"
        exclude = ("org",)

    org = None
    organization = factory.LazyAttribute(lambda o: o.org.organization)
    user = factory.SubFactory(UserFactory)
    role = "viewer"


class PlanFactory(factory.django.DjangoModelFactory):
    """A plan of the test's own (public schema): `limits` per dimension."""

    class Meta:
        model = "billing.Plan"

    slug = factory.LazyFunction(lambda: f"plan-{_suffix()}")
    name = factory.LazyAttribute(lambda o: f"Plan {o.slug}")
    limits = factory.LazyFunction(dict)
    enforcement = "hard_block"
    enforcements = factory.LazyFunction(dict)
    monthly_credits = 100


class ApiKeyFactory(factory.Factory):
    """An API key made by `api_key_create`; the raw secret is on `.raw`."""

    class Meta:
        model = dict  # replaced by the ApiKey row in _create

    org = None
    name = factory.LazyAttribute(lambda o: f"{o.role} key")
    kind = "test"
    role = "developer"

    @classmethod
    def _create(cls, model_class, *, org, name, kind, role):
        from apps.settings.services import api_key_create

        with _inside(org) as system:
            key, raw = api_key_create(actor=system, name=name, kind=kind, role=role)
        key.raw = raw
        return key


class CustomerFactory(factory.Factory):
    """A customer made by `customer_create` (audited)."""

    class Meta:
        model = dict

    org = None
    external_id = factory.LazyFunction(lambda: f"cust-{_suffix()}")
    name = factory.LazyAttribute(lambda o: o.external_id)
    tier = "standard"
    region = "us"
    metadata = None

    @classmethod
    def _create(cls, model_class, *, org, **fields):
        from apps.settings.services import customer_create

        with _inside(org) as system:
            return customer_create(actor=system, **fields)


class WorkflowFactory(factory.Factory):
    """A workflow made by `workflow_create`; `publish=True` adds version 1,
    `deploy="production"` (or another environment) publishes and deploys it."""

    class Meta:
        model = dict

    org = None
    name = factory.LazyFunction(lambda: f"Workflow {_suffix()}")
    code = CODE
    publish = False
    deploy = None  # an environment's slug
    note = "first"

    @classmethod
    def _create(cls, model_class, *, org, publish, deploy, note, **fields):
        from apps.workflows import services

        with _inside(org) as system:
            workflow = services.workflow_create(actor=system, **fields)
            if publish or deploy:
                version = services.workflow_publish(actor=system, workflow=workflow, note=note)
                if deploy:
                    services.workflow_deploy(
                        actor=system, workflow=workflow, version_number=version.number, environment_slug=deploy
                    )
            workflow.refresh_from_db()
        return workflow


def connector_definition(slug: str, base_url: str = "https://api.acme.example/v2") -> dict:
    """A small API-key connector with three actions."""
    return {
        "slug": slug,
        "name": slug.replace("-", " ").title(),
        "base_url": base_url,
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
        "actions": {
            "listContacts": {"method": "GET", "path": "/contacts"},
            "getContact": {"method": "GET", "path": "/contacts/{id}"},
            "createContact": {"method": "POST", "path": "/contacts"},
        },
    }


class ConnectorFactory(factory.Factory):
    """A custom connector made by `connector_create` from a definition
    (`slug=` and `base_url=` shape the default one)."""

    class Meta:
        model = dict

    class Params:
        slug = factory.LazyFunction(lambda: f"acme-{_suffix()}")
        base_url = "https://api.acme.example/v2"

    org = None
    definition = factory.LazyAttribute(lambda o: connector_definition(o.slug, o.base_url))

    @classmethod
    def _create(cls, model_class, *, org, definition):
        from apps.connectors.services import connector_create

        with _inside(org) as system:
            return connector_create(actor=system, definition=definition)


class ConnectionFactory(factory.Factory):
    """A connection made by `connection_create` (credentials encrypted), not
    verified against the provider unless `verify=True`. `connector` is a
    Connector (a new one by default); `customer` a Customer or None (the
    organization's own connection)."""

    class Meta:
        model = dict

    org = None
    connector = factory.SubFactory(ConnectorFactory, org=factory.SelfAttribute("..org"))
    customer = None
    credentials = factory.LazyFunction(lambda: {"api_key": f"key-{_suffix()}"})
    config = None
    verify = False

    @classmethod
    def _create(cls, model_class, *, org, connector, **fields):
        from apps.connectors.services import connection_create

        with _inside(org) as system:
            return connection_create(actor=system, connector_slug=connector.slug, **fields)


class TriggerFactory(factory.Factory):
    """A trigger made by `trigger_create` (a webhook by default), pointing at a
    workflow (a new one deployed to production by default). What is shown
    only once (the token of a webhook URL, a signing secret) is on `.once`."""

    class Meta:
        model = dict

    org = None
    workflow = factory.SubFactory(WorkflowFactory, org=factory.SelfAttribute("..org"), deploy="production")
    type = "webhook"
    config = factory.LazyFunction(dict)
    environment = "production"
    customer = None  # an external id
    name = ""
    enabled = True

    @classmethod
    def _create(cls, model_class, *, org, workflow, **fields):
        from apps.triggers.services.triggers import trigger_create

        with _inside(org) as system:
            result = trigger_create(actor=system, workflow=workflow.slug, **fields)
        result.trigger.once = result.once
        return result.trigger


class ExecutionFactory(factory.Factory):
    """The row a worker leaves after running `workflow`'s latest version
    (completed by default), made `age` ago; any other field may be given."""

    class Meta:
        model = dict

    org = None
    workflow = factory.SubFactory(WorkflowFactory, org=factory.SelfAttribute("..org"), publish=True)
    status = "completed"
    age = timedelta(0)

    @classmethod
    def _create(cls, model_class, *, org, workflow, status, age, **fields):
        from django.utils import timezone

        from apps.core.tenancy import organization_context
        from apps.workflows.models import Execution

        with organization_context(org.organization):
            version = workflow.versions.order_by("-number").first()
            finished = status in ("completed", "failed", "timeout")
            now = timezone.now() - age
            values = {
                "workflow": workflow,
                "workflow_slug": workflow.slug,
                "version": version,
                "version_number": version.number if version else 1,
                "environment": "production",
                "tier": workflow.tier,
                "status": status,
                "triggered_by": "manual",
                "attempts": 1 if status != "queued" else 0,
                "timeout_ms": workflow.timeout_ms,
                "input": {"n": 1},
                "started_at": now if status != "queued" else None,
                "finished_at": now + timedelta(milliseconds=12) if finished else None,
                "duration_ms": 12.5 if finished else None,
                **fields,
            }
            execution = Execution.objects.create(**values)
            # created_at is auto_now_add: set afterwards, to place the row in time.
            Execution.objects.filter(pk=execution.pk).update(created_at=now)
            execution.refresh_from_db()
        return execution
