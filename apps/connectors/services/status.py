"""The connection status state machine.

    connected ──▶ needs_reauth   the provider refused the grant (invalid_grant, a 401 no refresh can fix)
        │  ▲  ──▶ error          something the organization must fix (OAuth app gone, invalid_client)
        │  └───── (both)         new credentials, a successful refresh, call or check
        └──────▶ revoked         deleted: credentials wiped, kept as history; final

Every change goes through `connection_set_status`, which refuses the
transitions not drawn here and audits the ones it makes.
"""

from __future__ import annotations

from django.utils import timezone

from apps.accounts.principals import Principal
from apps.connectors.exceptions import IllegalTransition
from apps.connectors.models import Connection
from apps.settings.services import audit_record

Status = Connection.Status

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.CONNECTED: frozenset({Status.NEEDS_REAUTH, Status.ERROR, Status.REVOKED}),
    Status.NEEDS_REAUTH: frozenset({Status.CONNECTED, Status.REVOKED}),
    Status.ERROR: frozenset({Status.CONNECTED, Status.NEEDS_REAUTH, Status.REVOKED}),
    Status.REVOKED: frozenset(),
}
MAX_ERROR_LENGTH = 1000


def can_transition(current: str, target: str) -> bool:
    return target in ALLOWED_TRANSITIONS.get(current, frozenset())


def connection_set_status(
    *,
    connection: Connection,
    status: str,
    error: str = "",
    actor: Principal | None = None,
    extra_fields: dict | None = None,
) -> bool:
    """Move `connection` to `status` (a conditional UPDATE on the status it
    was read with). Returns False when another worker moved it first to the
    same status; raises IllegalTransition for a transition the machine does
    not allow. Staying in the same status only updates `last_error`."""
    now = timezone.now()
    fields: dict = dict(extra_fields or {})
    if error:
        fields.update(last_error=error[:MAX_ERROR_LENGTH], last_error_at=now)
    elif status == Status.CONNECTED:
        fields.update(last_error="", last_error_at=None)
    if status == connection.status:
        if fields:
            Connection.objects.filter(pk=connection.pk).update(updated_at=now, **fields)
            for name, value in fields.items():
                setattr(connection, name, value)
        return True
    if not can_transition(connection.status, status):
        raise IllegalTransition(
            f"A {connection.get_status_display().lower()} connection cannot become {status}.",
            details={"from": connection.status, "to": status},
        )
    updated = Connection.objects.filter(pk=connection.pk, status=connection.status).update(
        status=status, status_changed_at=now, updated_at=now, **fields
    )
    if not updated:
        current = Connection.objects.filter(pk=connection.pk).values_list("status", flat=True).first()
        if current == status:
            connection.status = status
            return False
        if current is None or not can_transition(current, status):
            raise IllegalTransition(
                f"The connection changed meanwhile and cannot become {status}.",
                details={"from": current, "to": status},
            )
        connection.status = current
        return connection_set_status(
            connection=connection, status=status, error=error, actor=actor, extra_fields=extra_fields
        )
    previous = connection.status
    connection.status = status
    connection.status_changed_at = now
    for name, value in fields.items():
        setattr(connection, name, value)
    audit_record(
        actor=actor,
        action="connection.status",
        resource_type="connection",
        resource_id=str(connection.pk),
        changes={"from": previous, "to": status, "reason": error[:300]} if error else {"from": previous, "to": status},
    )
    return True
