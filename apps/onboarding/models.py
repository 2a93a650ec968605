"""The setup assistant's progress, one row per organization (its schema)."""

from __future__ import annotations

from django.db import models


class OnboardingState(models.Model):
    """Where the organization is in the five steps, and what it answered.

    `answers`: {"website", "description", "use_cases": [...], "connectors":
    [...], "workflows": [...]}. `done` and `skipped` list step numbers.
    """

    step = models.PositiveSmallIntegerField(default=1)
    done = models.JSONField(default=list)
    skipped = models.JSONField(default=list)
    answers = models.JSONField(default=dict)
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"setup step {self.step}{' (done)' if self.completed_at else ''}"

    @property
    def active(self) -> bool:
        return self.completed_at is None
