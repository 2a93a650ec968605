"""What is metered and how limits are enforced: the vocabulary of usage.

The usage tables (this app) and billing's plans, quotas and counters
(apps.billing, which builds on this app) share these names; the windows and
the dimension → meter map are in apps.billing.quotas.
"""

from django.core.exceptions import ValidationError
from django.db import models


class Dimension(models.TextChoices):
    EVENTS_PER_DAY = "events_per_day", "Events per day"
    EVENTS_PER_MINUTE = "events_per_minute", "Events per minute"
    API_CALLS_PER_DAY = "api_calls_per_day", "API calls per day"
    API_CALLS_PER_MINUTE = "api_calls_per_minute", "API calls per minute"
    EXECUTIONS_PER_DAY = "executions_per_day", "Executions per day"
    CONNECTIONS = "connections", "Connections"
    STORAGE_BYTES = "storage_bytes", "Storage (bytes)"


class Enforcement(models.TextChoices):
    HARD_BLOCK = "hard_block", "Hard Block"
    SOFT = "soft", "Soft"
    NOTIFY = "notify", "Notify"


class Meter(models.TextChoices):
    API_CALLS = "api_calls", "API calls"
    EVENTS = "events", "Events"
    EXECUTIONS = "executions", "Executions"
    CONNECTIONS = "connections", "Connections"
    STORAGE_BYTES = "storage_bytes", "Storage (bytes)"


class Period(models.TextChoices):
    MINUTE = "minute", "Minute"
    DAY = "day", "Day"
    TOTAL = "total", "Total"


def validate_limits(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Limits must be an object of dimension → integer or null.")
    for name, limit in value.items():
        if name not in Dimension.values:
            raise ValidationError(f"Unknown quota dimension {name!r}.")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise ValidationError(f"{name}: a limit is a non-negative integer, or null for unlimited.")


def validate_enforcements(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Enforcements must be an object of dimension → mode.")
    for name, mode in value.items():
        if name not in Dimension.values:
            raise ValidationError(f"Unknown quota dimension {name!r}.")
        if mode not in Enforcement.values:
            raise ValidationError(f"{name}: the mode is one of {', '.join(Enforcement.values)}.")
