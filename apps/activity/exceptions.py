"""Activity's errors, rendered once by apps.core.errors (API.md shape)."""

from apps.core.errors import NotFound


class AlertNotFound(NotFound):
    code = "alert_not_found"
