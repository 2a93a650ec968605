"""Filters for the workflow pages: durations, byte counts, JSON."""

from __future__ import annotations

import json
from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def duration(ms) -> str:
    """Milliseconds for people: 850 ms, 1.25 s, 2 min 5 s, 1 h 30 min."""
    if ms is None or ms == "":
        return "—"
    try:
        ms = float(ms)
    except (TypeError, ValueError):
        return "—"
    if ms < 1000:
        if ms >= 100 or ms == int(ms):
            return f"{ms:.0f} ms"
        return f"{ms:.1f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + " s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.filter
def ago(value) -> str:
    """ "just now", or "5 minutes ago"."""
    if not value:
        return "—"
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"


@register.filter
def byte_count(value) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "—"
    return f"{n:,} byte" + ("" if n == 1 else "s")


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@register.filter
def get_item(mapping, key):
    """`{{ gate_runs|get_item:v.number }}`: a dictionary lookup by a variable key."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def any_unfinished(executions) -> bool:
    """True while one of the executions is queued or running (the tab then polls)."""
    return any(not execution.is_finished for execution in executions or ())
