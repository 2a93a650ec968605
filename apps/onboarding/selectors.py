"""Reads of the setup assistant's state (for Home)."""

from __future__ import annotations

from apps.onboarding.models import OnboardingState


def onboarding_active() -> bool:
    """Whether the current organization is in the middle of the setup assistant."""
    return OnboardingState.objects.filter(completed_at__isnull=True).exists()
