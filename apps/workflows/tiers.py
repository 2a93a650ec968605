"""Execution tiers and the retry policy: the numbers of DESIGN.md and API.md."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Tier(models.TextChoices):
    INSTANT = "instant", "Instant"
    STANDARD = "standard", "Standard"
    LONG = "long", "Long"


@dataclass(frozen=True)
class TierSpec:
    queue: str
    min_timeout_ms: int
    max_timeout_ms: int
    default_timeout_ms: int
    synchronous: bool


TIERS: dict[str, TierSpec] = {
    Tier.INSTANT: TierSpec("instant", 1_000, 120_000, 60_000, True),
    Tier.STANDARD: TierSpec("standard", 5_000, 900_000, 900_000, False),
    Tier.LONG: TierSpec("long", 30_000, 21_600_000, 21_600_000, False),
}

RETRY_DEFAULTS = {
    "enabled": False,
    "max_attempts": 3,
    "initial_interval_ms": 5_000,
    "backoff_coefficient": 2,
    "max_interval_ms": 60_000,
}
RETRY_RANGES = {
    "max_attempts": (1, 10),
    "initial_interval_ms": (100, 3_600_000),
    "backoff_coefficient": (1, 10),
    "max_interval_ms": (100, 3_600_000),
}

# Failures that running again cannot fix.
NOT_RETRYABLE_CODES = frozenset({"compile_error", "invalid_workflow", "invalid_input", "quota_exceeded"})


def retry_delay_ms(policy: dict, attempt: int) -> int:
    """Delay before the attempt after `attempt` (1-based): initial × coefficient^(attempt−1), capped."""
    delay = policy["initial_interval_ms"] * policy["backoff_coefficient"] ** (attempt - 1)
    return int(min(delay, policy["max_interval_ms"]))


def should_retry(policy: dict, *, attempt: int, error_code: str | None) -> bool:
    if not policy.get("enabled"):
        return False
    if error_code in NOT_RETRYABLE_CODES:
        return False
    return attempt < policy["max_attempts"]
