"""Quota dimensions: what plans limit."""

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
