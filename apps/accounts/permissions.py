"""The one permission layer for API views.

A view declares `permission_resource` and, when the HTTP method alone does not
say it, `permission_action` (or a per-method map `permission_actions`). Every
refusal is written to the audit log before the 403 leaves.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from apps.accounts.principals import Principal

METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "create",
    "PUT": "edit",
    "PATCH": "edit",
    "DELETE": "delete",
}


def required_action(view, method: str) -> str:
    actions = getattr(view, "permission_actions", None) or {}
    if method in actions:
        return actions[method]
    explicit = getattr(view, "permission_action", None)
    return explicit or METHOD_ACTIONS.get(method, "edit")


class HasRolePermission(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return False  # DRF answers 401: nobody authenticated
        resource = getattr(view, "permission_resource", None)
        if resource is None:
            return True  # the view checks for itself (documented on the view)
        action = required_action(view, request.method)
        if principal.can(resource, action):
            return True
        from apps.accounts.registry import audit_denied

        audit_denied(
            actor=principal,
            action=f"{resource}.{action}",
            resource_type=resource,
            reason=f"role {principal.role} lacks {resource}.{action}",
        )
        self.message = f"Your role ({principal.role}) does not allow {action} on {resource.replace('_', ' ')}."
        return False


def require_permission(principal: Principal, resource: str, action: str, *, resource_id: str = "") -> None:
    """Check a permission inside a view or service; audit and raise when missing."""
    if principal.can(resource, action):
        return
    from apps.accounts.registry import audit_denied
    from apps.core.errors import PermissionDenied

    audit_denied(
        actor=principal,
        action=f"{resource}.{action}",
        resource_type=resource,
        resource_id=resource_id,
        reason=f"role {principal.role} lacks {resource}.{action}",
    )
    raise PermissionDenied(f"Your role ({principal.role}) does not allow {action} on {resource.replace('_', ' ')}.")
