"""Object permissions: custom roles narrowed to chosen objects (django-guardian).

A custom role grants actions on resources through the permission matrix
(`apps.accounts.roles`). It may also be *narrowed* on a resource — e.g. a
"Billing team operator" who may run only the `invoice-sync` and `dunning`
workflows. Narrowing is stored with django-guardian: each organization's
custom role has an `auth.Group` (named `fastn:<account_id>:<role slug>`), and
for every chosen object the group holds one guardian object permission per
action the role grants on that resource (codename `fastn_<action>_<model>`).
Guardian's tables live in each organization's schema, next to the objects.

The API other apps call
-----------------------

    from apps.accounts.access import (
        principal_can_object, principal_require_object, principal_filter_queryset,
    )

    # One object: True/False.
    principal_can_object(principal, "workflows", "run", workflow)

    # One object, refusing: raises ObjectPermissionDenied (403
    # `object_permission_denied`) and writes a denied audit event.
    principal_require_object(principal, "workflows", "deploy", workflow)

    # Lists: only the objects the principal may act on.
    queryset = principal_filter_queryset(principal, "workflows", "view", Workflow.objects.all())

Rules: the principal must hold `<resource>.<action>` in its role first; a role
that is not narrowed on the resource (every system role, and custom roles
without a scope there) may act on every object; a narrowed role only on the
objects chosen for it. Call these after the view's role check
(HasRolePermission) — typically in the detail view right after loading the
object by its slug, answering 404 rather than 403 for objects the principal
may not even view if you prefer not to confirm they exist.

Which resources can be narrowed, and how their objects are named, is the
registry below: `register_scopable(resource, "app_label.Model", "lookup_field")`
(workflows and connectors by `slug`, customers by `external_id`). A resource
whose model is not installed is simply not offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet

from apps.accounts.exceptions import ObjectPermissionDenied
from apps.accounts.principals import Principal
from apps.accounts.roles import Resource, actions_for, is_system_role


@dataclass(frozen=True)
class ScopableType:
    resource: str
    model_label: str  # "app_label.ModelName"
    lookup_field: str  # the public id field: slug, external_id, …

    def model(self) -> type[Model] | None:
        try:
            return django_apps.get_model(self.model_label)
        except (LookupError, ValueError):
            return None


_SCOPABLE: dict[str, ScopableType] = {}


def register_scopable(resource: str, model_label: str, lookup_field: str) -> None:
    """Let custom roles be narrowed to chosen objects of `resource`."""
    _SCOPABLE[resource] = ScopableType(resource, model_label, lookup_field)


register_scopable(Resource.WORKFLOWS, "workflows.Workflow", "slug")
register_scopable(Resource.CONNECTORS, "connectors.Connector", "slug")
register_scopable(Resource.CUSTOMERS, "settings.Customer", "external_id")


def scopable_types() -> dict[str, ScopableType]:
    """The resources that can be narrowed in this installation."""
    return {resource: kind for resource, kind in _SCOPABLE.items() if kind.model() is not None}


def scopable_type(resource: str) -> ScopableType | None:
    return scopable_types().get(resource)


# --- Groups and permissions ------------------------------------------------------------


def role_group_name(organization, slug: str) -> str:
    return f"fastn:{organization.account_id}:{slug}"


def role_group(organization, slug: str, *, create: bool = False) -> Group | None:
    name = role_group_name(organization, slug)
    if create:
        return Group.objects.get_or_create(name=name)[0]
    return Group.objects.filter(name=name).first()


def _codename(action: str, model: type[Model]) -> str:
    return f"fastn_{action}_{model._meta.model_name}"


def _permission(action: str, model: type[Model]) -> Permission:
    content_type = ContentType.objects.get_for_model(model)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=_codename(action, model),
        defaults={"name": f"Fastn: {action} {model._meta.verbose_name}"[:255]},
    )
    return permission


def _group_object_permissions():
    from guardian.utils import get_group_obj_perms_model

    return get_group_obj_perms_model()


def resolve_objects(resource: str, ids: list[str]) -> list[Model]:
    """The objects named by their public ids; unknown ids raise InvalidInput."""
    from apps.core.errors import InvalidInput

    kind = scopable_type(resource)
    if kind is None:
        raise InvalidInput.for_field(f"scopes.{resource}", f"Roles cannot be narrowed on {resource}.")
    model = kind.model()
    found = {
        str(getattr(obj, kind.lookup_field)): obj
        for obj in model._default_manager.filter(**{f"{kind.lookup_field}__in": ids})
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput.for_field(f"scopes.{resource}", f"No {resource} named {', '.join(missing[:10])}.")
    return [found[i] for i in ids]


def role_scope_ids(organization, slug: str, resource: str) -> list[str]:
    """Public ids of the objects a role is narrowed to on `resource`."""
    kind = scopable_type(resource)
    group = role_group(organization, slug)
    if kind is None or group is None:
        return []
    model = kind.model()
    content_type = ContentType.objects.get_for_model(model)
    pks = (
        _group_object_permissions()
        .objects.filter(group=group, content_type=content_type)
        .values_list("object_pk", flat=True)
        .distinct()
    )
    objects = model._default_manager.filter(pk__in=list(pks))
    return sorted(str(getattr(obj, kind.lookup_field)) for obj in objects)


def role_scope_sync(organization, slug: str, permissions: frozenset[str], scopes: dict[str, list[Model]]) -> None:
    """Make the role's guardian rows match: for each narrowed resource, one
    row per (chosen object, granted action). Resources not in `scopes` lose
    every row (the role is no longer narrowed there)."""
    GroupObjectPermission = _group_object_permissions()
    group = role_group(organization, slug, create=bool(scopes))
    if group is None:
        return
    GroupObjectPermission.objects.filter(group=group).delete()
    rows = []
    for resource, objects in scopes.items():
        kind = scopable_type(resource)
        if kind is None:
            continue
        model = kind.model()
        content_type = ContentType.objects.get_for_model(model)
        granted = [a for a in actions_for(resource) if f"{resource}.{a}" in permissions]
        for action in granted:
            permission = _permission(action, model)
            rows += [
                GroupObjectPermission(
                    group=group, permission=permission, content_type=content_type, object_pk=str(o.pk)
                )
                for o in objects
            ]
    GroupObjectPermission.objects.bulk_create(rows)


def role_scope_delete(organization, slug: str) -> None:
    group = role_group(organization, slug)
    if group is not None:
        _group_object_permissions().objects.filter(group=group).delete()
        group.delete()


# --- Checks ---------------------------------------------------------------------------------


def _narrowed(principal: Principal, resource: str) -> bool:
    if principal.kind == "system" or is_system_role(principal.role):
        return False
    cache = principal.extra.setdefault("_scoped_resources", {})
    if principal.role not in cache:
        from apps.accounts.registry import custom_role_scoped_resources

        cache[principal.role] = custom_role_scoped_resources(slug=principal.role)
    return resource in cache[principal.role]


def principal_can_object(principal: Principal, resource: str, action: str, obj: Model) -> bool:
    """May `principal` do `action` on this one object of `resource`?"""
    if not principal.can(resource, action):
        return False
    if not _narrowed(principal, resource):
        return True
    group = role_group(principal.organization, principal.role)
    if group is None:
        return False
    from guardian.core import ObjectPermissionChecker

    return ObjectPermissionChecker(group).has_perm(_codename(action, type(obj)), obj)


def principal_require_object(principal: Principal, resource: str, action: str, obj: Model) -> None:
    """Refuse (403, audited) unless `principal_can_object` says yes."""
    if principal_can_object(principal, resource, action, obj):
        return
    from apps.accounts.registry import audit_denied

    kind = scopable_type(resource)
    object_id = str(getattr(obj, kind.lookup_field)) if kind else str(obj.pk)
    audit_denied(
        actor=principal,
        action=f"{resource}.{action}",
        resource_type=resource,
        resource_id=object_id,
        reason=f"role {principal.role} is not allowed {action} on this object",
    )
    raise ObjectPermissionDenied(
        f"Your role ({principal.role}) does not allow {action} on {resource.replace('_', ' ')} {object_id!r}.",
        details={"resource": resource, "action": action, "object": object_id},
    )


def principal_filter_queryset(principal: Principal, resource: str, action: str, queryset: QuerySet) -> QuerySet:
    """Only the rows of `queryset` the principal may `action` (none without the role permission)."""
    if not principal.can(resource, action):
        return queryset.none()
    if not _narrowed(principal, resource):
        return queryset
    group = role_group(principal.organization, principal.role)
    if group is None:
        return queryset.none()
    from guardian.shortcuts import get_objects_for_group

    return get_objects_for_group(group, _codename(action, queryset.model), klass=queryset, accept_global_perms=False)
