"""Hooks through which the apps above core join in core's lifecycle steps.

Core knows no other app (apps/README.md). Creating an organization, deleting
one, deleting a customer (before and after its rows go) and finishing `migrate` involve steps that belong to
apps of higher layers: billing assigns the plan, accounts makes the Owner,
settings creates environments, API keys and the audit event, workflows drops
fastn.db schemas and roles. Each app registers its steps here from its
`AppConfig.ready()`; core runs them at the right moment.

Steps run in the order of INSTALLED_APPS (the order of the `ready()` calls),
which lists lower layers first: a step sees what the apps it builds on did.
A step that raises stops the operation; inside `organization_create` the
transaction is rolled back with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.core.models import Organization


@dataclass
class CreatedOrganization:
    """What `organization_create` made. Steps fill in what their app created."""

    organization: Organization
    owner_email: str
    owner_password: str | None  # None when the owner already had an account
    api_keys: dict[str, str] = field(default_factory=dict)  # kind → raw key, shown once
    options: dict[str, Any] = field(default_factory=dict, repr=False)  # what the caller asked for


# (organization, options): set what the unsaved Organization row needs; raise to refuse.
PrepareStep = Callable[["Organization", dict], None]
# (created): inside the creation's transaction, the organization's schema is current.
CreatedStep = Callable[[CreatedOrganization], None]
# (organization): before its schema is dropped, in the public schema.
DeletingStep = Callable[["Organization"], None]
# (customer, actor): before a customer's rows go, in the organization's schema
# (the connectors app revokes its connections at the providers).
CustomerDeletingStep = Callable[[Any, Any], None]
# (organization_id, customer_id, database alias): after a customer's rows are gone.
CustomerDeletedStep = Callable[[int, Any, str], None]
# (the migrate command, database alias, verbosity): after `migrate` kept every
# schema and the template current. The command's stdout/stderr/style report.
MigratedStep = Callable[[Any, str, int], None]


@dataclass
class _Steps:
    prepare: list[PrepareStep] = field(default_factory=list)
    created: list[CreatedStep] = field(default_factory=list)
    deleting: list[DeletingStep] = field(default_factory=list)
    customer_deleting: list[CustomerDeletingStep] = field(default_factory=list)
    customer_deleted: list[CustomerDeletedStep] = field(default_factory=list)
    migrated: list[MigratedStep] = field(default_factory=list)


_steps = _Steps()


def _add(steps: list, step: Callable | None) -> None:
    if step is not None and step not in steps:
        steps.append(step)


def register_organization_steps(
    *,
    prepare: PrepareStep | None = None,
    created: CreatedStep | None = None,
    deleting: DeletingStep | None = None,
) -> None:
    """Join organization creation (`prepare` before the row is saved,
    `created` after its schema exists) and deletion (`deleting`)."""
    _add(_steps.prepare, prepare)
    _add(_steps.created, created)
    _add(_steps.deleting, deleting)


def register_customer_deleting(step: CustomerDeletingStep) -> None:
    """Act on a customer's rows while they still exist, before it is deleted."""
    _add(_steps.customer_deleting, step)


def register_customer_deleted(step: CustomerDeletedStep) -> None:
    """Clean up what an app keeps for a customer outside the organization's tables."""
    _add(_steps.customer_deleted, step)


def register_migrated(step: MigratedStep) -> None:
    """Database-wide set-up to run at the end of `migrate`."""
    _add(_steps.migrated, step)


def organization_prepare(organization: Organization, options: dict) -> None:
    for step in _steps.prepare:
        step(organization, options)


def organization_created(created: CreatedOrganization) -> None:
    for step in _steps.created:
        step(created)


def organization_deleting(organization: Organization) -> None:
    for step in _steps.deleting:
        step(organization)


def customer_deleting(*, customer: Any, actor: Any) -> None:
    for step in _steps.customer_deleting:
        step(customer, actor)


def customer_deleted(*, organization_id: int, customer_id: Any, database: str) -> None:
    for step in _steps.customer_deleted:
        step(organization_id, customer_id, database)


def migrated(command: Any, alias: str, verbosity: int) -> None:
    for step in _steps.migrated:
        step(command, alias, verbosity)
