"""Latency histograms with fixed bucket bounds, so per-minute rollups add up.

A percentile cannot be averaged across minutes, but counts per bucket can be
summed: rollups keep one count per bucket (`BOUNDS_MS`, milliseconds, upper
bounds; a last bucket catches the rest), and p50/p95/p99 over any window are
read from the summed counts, interpolating inside the bucket. The error is
bounded by the bucket's width (about ±25 % between 10 ms and 10 s).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

BOUNDS_MS: tuple[int, ...] = (
    1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000,
    7500, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 900_000, 3_600_000, 21_600_000,
)  # fmt: skip
BUCKETS = len(BOUNDS_MS) + 1  # the last one: above the last bound


def bucket_of(duration_ms: float) -> int:
    """The index width_bucket gives: values equal to a bound go to the next bucket."""
    index = 0
    for bound in BOUNDS_MS:
        if duration_ms < bound:
            return index
        index += 1
    return index


def empty() -> list[int]:
    return [0] * BUCKETS


def add_into(total: list[int], counts: Sequence[int] | None) -> list[int]:
    if counts:
        for index, count in enumerate(counts[:BUCKETS]):
            total[index] += count
    return total


def merged(rows: Iterable[Sequence[int] | None]) -> list[int]:
    total = empty()
    for counts in rows:
        add_into(total, counts)
    return total


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) in milliseconds, or None for no samples."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            low = 0.0 if index == 0 else float(BOUNDS_MS[index - 1])
            high = float(BOUNDS_MS[index]) if index < len(BOUNDS_MS) else low * 2
            return low + (high - low) * ((rank - seen) / count)
        seen += count
    return float(BOUNDS_MS[-1])
