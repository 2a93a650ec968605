"""Keyset pagination: stable, index-friendly pages for large tables.

Lists are ordered newest first by (`created_at`, `id`) and a page is asked for
with an opaque `cursor` naming the last row seen. Unlike OFFSET, the cost of a
page does not grow with its depth, and rows inserted meanwhile never shift it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from apps.core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def _encode(created_at: datetime, pk: Any) -> str:
    raw = json.dumps([created_at.isoformat(), str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created), str(pk)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput.for_field(
            "cursor", "This cursor is not valid; use a next_cursor from a previous page."
        ) from exc


def parse_limit(raw: str | None, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput.for_field("limit", f"Must be an integer between 1 and {maximum}.") from exc
    if not 1 <= value <= maximum:
        raise InvalidInput.for_field("limit", f"Must be an integer between 1 and {maximum}.")
    return value


def after_cursor(queryset: QuerySet, cursor: str | None, *, time_field: str = "created_at") -> QuerySet:
    """Rows strictly after `cursor` in (time, pk) descending order.

    The `<=` on the time alone bounds the index scan: the OR that follows
    only settles rows sharing the cursor's time (without it PostgreSQL walks
    the index from the newest row on every page).
    """
    if not cursor:
        return queryset
    created_at, pk = _decode(cursor)
    return queryset.filter(**{f"{time_field}__lte": created_at}).filter(
        Q(**{f"{time_field}__lt": created_at}) | Q(**{time_field: created_at, "pk__lt": pk})
    )


def cursor_at(created_at: datetime, pk: Any) -> str:
    """The cursor of a row: the next page starts after it."""
    return _encode(created_at, pk)


def paginate_newest_first(
    queryset: QuerySet, *, cursor: str | None, limit: int, time_field: str = "created_at"
) -> Page:
    """One page of `queryset`, newest first, after `cursor` when given."""
    queryset = after_cursor(queryset.order_by(f"-{time_field}", "-pk"), cursor, time_field=time_field)
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], _encode(getattr(last, time_field), last.pk))


def page_body(page: Page, serialized: list[Any]) -> dict[str, Any]:
    return {"results": serialized, "next_cursor": page.next_cursor, "has_more": page.has_more}
