"""Periodic work that costs what is due, not how many organizations exist.

The schedule tick, the event relay and the reaper each have work in only a
few organizations at a time. `core_tickdue` (public schema) holds, per
organization and kind, the earliest time that organization may have
something of that kind due:

- Code that creates such work marks it (`tick_mark`), in the same
  transaction as the work: a schedule saved, an event left to the relay,
  an execution queued. A mark only ever moves the time earlier.
- A tick claims the organizations due now (`tick_visit`: one statement,
  `SKIP LOCKED`, moving them a lease ahead so a crashed visit is retried),
  does their work in their schema, asks them when they are next due, and
  stores that — unless a mark came in meanwhile, which then wins.

A visit costs queries in one schema; an organization with nothing due costs
nothing. Domain apps say what their work is (kind, work, next due); this
module knows no domain app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.core.models import Organization
from apps.core.tenancy import current_organization, organization_context

logger = logging.getLogger(__name__)

# A claimed organization whose visit never finished is due again after this.
LEASE = timedelta(minutes=5)

MARK_SQL = """
INSERT INTO public.core_tickdue (organization_id, kind, due_at, version) VALUES (%s, %s, %s, 1)
ON CONFLICT (organization_id, kind) DO UPDATE
   SET due_at = LEAST(public.core_tickdue.due_at, EXCLUDED.due_at), version = public.core_tickdue.version + 1
"""

CLAIM_SQL = """
UPDATE public.core_tickdue t SET due_at = %(lease)s
 WHERE t.id IN (SELECT id FROM public.core_tickdue
                 WHERE kind = %(kind)s AND due_at <= %(now)s
                 ORDER BY due_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING t.organization_id, t.version
"""

RELEASE_SQL = """
UPDATE public.core_tickdue
   SET due_at = CASE WHEN version = %(version)s THEN %(next)s ELSE LEAST(due_at, %(next)s) END
 WHERE organization_id = %(organization)s AND kind = %(kind)s
"""


def _far_future() -> datetime:
    """ "Nothing due": a time no tick reaches; the next mark moves it earlier."""
    return timezone.now().replace(year=9999)


def tick_mark(*, kind: str, at: datetime | None = None, organization: Organization | None = None) -> None:
    """The current organization (or `organization`) has `kind` work due at `at` (default now)."""
    organization = organization or current_organization()
    if organization is None:
        return
    with connection.qualified_cursor() as cursor:
        cursor.execute(MARK_SQL, [organization.pk, kind, at or timezone.now()])


def tick_visit(
    *,
    kind: str,
    work: Callable[[], dict[str, int]],
    next_due: Callable[[datetime], datetime | None],
    label: str,
    now: datetime | None = None,
    batch: int = 500,
) -> dict[str, Any]:
    """Run `work` in each organization with `kind` due, then store its `next_due(now)`
    (None: nothing pending). Returns {"visited": n, "failed": n}."""
    now = now or timezone.now()
    with connection.qualified_cursor() as cursor:
        cursor.execute(CLAIM_SQL, {"lease": now + LEASE, "kind": kind, "now": now, "batch": batch})
        claimed = dict(cursor.fetchall())
    summary = {"visited": 0, "failed": 0}
    if not claimed:
        return summary
    organizations = Organization.objects.filter(pk__in=claimed, is_template=False).only("id", "schema_name", "slug")
    for organization in organizations:
        try:
            with organization_context(organization):
                counts = work()
                following = next_due(now)
        except Exception:  # noqa: BLE001 - one organization must not stop the others (the lease retries it)
            logger.exception("%s of %s failed", label, organization.slug)
            summary["failed"] += 1
            continue
        summary["visited"] += 1
        if any(counts.values()):
            logger.info("%s %s: %s", label, organization.slug, counts)
        with connection.qualified_cursor() as cursor:
            cursor.execute(
                RELEASE_SQL,
                {
                    "version": claimed[organization.pk],
                    "next": following or _far_future(),
                    "organization": organization.pk,
                    "kind": kind,
                },
            )
    return summary


def tick_mark_all(*, kind: str, at: datetime | None = None) -> int:
    """Every live organization due for `kind` (a new kind, or after a restore from backup)."""
    at = at or timezone.now()
    with connection.qualified_cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO public.core_tickdue (organization_id, kind, due_at, version)
            SELECT id, %s, %s, 1 FROM public.core_organization WHERE NOT is_template
            ON CONFLICT (organization_id, kind) DO UPDATE
               SET due_at = LEAST(public.core_tickdue.due_at, EXCLUDED.due_at),
                   version = public.core_tickdue.version + 1
            """,
            [kind, at],
        )
        return cursor.rowcount
