"""The setup assistant: five steps after self-serve sign-up, resumable and skippable.

1. Company website — fetched through `apps.core.http` (SSRF guard, deadline,
   size cap; private addresses only when FASTN_ALLOW_PRIVATE_NETWORK) to
   suggest a description from its title and meta description.
2. Use cases — each names catalogue categories.
3. Connectors — suggested from the use cases' categories, installed from the catalogue.
4. Workflows — starters created as drafts (and templates, once the widget has some).
5. Embed — the snippet and a test session for a test customer; "Go live" ends it.

Each step's answer is saved as it is given, so the assistant resumes where
it was left; a skipped step is remembered as skipped. Reset (Settings →
General) starts it again. Everything it creates goes through the owning
apps' services, audited as the member who clicked.
"""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import http
from apps.core.errors import InvalidInput
from apps.onboarding.models import OnboardingState

STEPS = (
    (1, "Your company"),
    (2, "Use cases"),
    (3, "Connectors"),
    (4, "Workflows"),
    (5, "Embed and go live"),
)
USE_CASES = {
    "crm-sync": ("Sync CRM contacts and deals", ("crm",)),
    "support": ("Connect support tickets", ("support",)),
    "notifications": ("Send notifications to chat", ("communication",)),
    "payments": ("React to payments and invoices", ("payments", "accounting")),
    "marketing": ("Marketing and e-mail lists", ("marketing", "email")),
    "projects": ("Create tasks and issues", ("project-management", "developer-tools")),
    "files": ("Files and documents", ("files", "storage", "knowledge-base")),
    "ecommerce": ("Orders and inventory", ("ecommerce", "inventory")),
}
STARTERS = {
    "welcome-new-customer": (
        "Welcome new customer",
        "Posts a welcome message when a customer signs up (webhook input).",
        "export default async (ctx) => {\n  const name = ctx.input?.name ?? 'there';\n"
        "  return { message: `Welcome, ${name}!` };\n}\n",
    ),
    "nightly-contact-sync": (
        "Nightly contact sync",
        "Copies contacts changed since the last run (a schedule, state keeps the cursor).",
        "export default async (ctx) => {\n  const since = (await fastn.state.get('cursor')) ?? null;\n"
        "  const now = new Date().toISOString();\n  await fastn.state.set('cursor', now);\n"
        "  return { since, until: now };\n}\n",
    ),
    "ticket-to-chat": (
        "Ticket to chat",
        "Forwards a new support ticket to a chat channel.",
        "export default async (ctx) => {\n  const ticket = ctx.input ?? {};\n"
        "  return { text: `New ticket: ${ticket.subject ?? '(no subject)'}` };\n}\n",
    ),
}
TEST_CUSTOMER = "setup-test-customer"
WEBSITE_SECONDS = 6.0
WEBSITE_MAX_BYTES = 512 * 1024


def onboarding_start_for_new_organization(created) -> None:
    """Organization creation step (apps.core.lifecycle): organizations made by sign-up start the assistant."""
    if created.options.get("onboarding"):
        from apps.core.tenancy import organization_context

        with organization_context(created.organization):
            OnboardingState.objects.create()


def onboarding_state() -> OnboardingState | None:
    return OnboardingState.objects.first()


def onboarding_reset(*, actor) -> OnboardingState:
    from apps.settings.services import audit_record

    with transaction.atomic():
        state = OnboardingState.objects.select_for_update().first() or OnboardingState()
        state.step, state.done, state.skipped, state.answers, state.completed_at = 1, [], [], {}, None
        state.save()
        audit_record(actor=actor, action="onboarding.reset", resource_type="organization")
    return state


def _advance(state: OnboardingState, step: int, *, skipped: bool) -> None:
    target = state.skipped if skipped else state.done
    other = state.done if skipped else state.skipped
    if step not in target:
        target.append(step)
    if step in other:
        other.remove(step)
    state.step = min(step + 1, len(STEPS))


def onboarding_skip(*, actor, state: OnboardingState, step: int) -> OnboardingState:
    """Skip a step (remembered as skipped); skipping the last one finishes the assistant."""
    _advance(state, step, skipped=True)
    if step == len(STEPS):
        return onboarding_complete(actor=actor, state=state, skipped=True)
    state.save()
    return state


# --- Step 1 ---------------------------------------------------------------------------------------


class _HeadReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.description = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attributes = {k.lower(): (v or "") for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "meta" and attributes.get("name", attributes.get("property", "")).lower() in (
            "description",
            "og:description",
        ):
            self.description = self.description or attributes.get("content", "")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def website_describe(*, url: str) -> dict[str, str]:
    """Fetch the company's home page (SSRF-guarded) and suggest a description.
    Raises InvalidInput naming `website` when it cannot be read."""
    url = (url or "").strip()
    if not url:
        raise InvalidInput.for_field("website", "Give your company's website address.")
    if not re.match(r"^https?://", url):
        url = "https://" + url
    try:
        response = http.request(
            "GET",
            url,
            headers={"accept": "text/html"},
            deadline=time.monotonic() + WEBSITE_SECONDS,
            allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
            max_redirects=3,
            max_response_bytes=WEBSITE_MAX_BYTES,
        )
    except http.BlockedDestination:
        raise InvalidInput.for_field("website", "This address is not reachable from Fastn (private or reserved).")
    except http.OutboundError as exc:
        raise InvalidInput.for_field("website", f"Could not read the site: {exc.message}")
    if not response.ok:
        raise InvalidInput.for_field("website", f"The site answered HTTP {response.status}.")
    reader = _HeadReader()
    reader.feed(response.text[:WEBSITE_MAX_BYTES])
    title = html.unescape(" ".join(reader.title.split()))[:200]
    description = html.unescape(" ".join(reader.description.split()))[:1000]
    return {"website": url, "title": title, "description": description or title}


def onboarding_save_company(*, state: OnboardingState, website: str, description: str) -> OnboardingState:
    state.answers = {**state.answers, "website": website.strip()[:500], "description": description.strip()[:1000]}
    _advance(state, 1, skipped=False)
    state.save()
    return state


# --- Steps 2 and 3 --------------------------------------------------------------------------------


def onboarding_save_use_cases(*, state: OnboardingState, use_cases: list[str]) -> OnboardingState:
    unknown = [u for u in use_cases if u not in USE_CASES]
    if unknown:
        raise InvalidInput.for_field("use_cases", f"Unknown use case {unknown[0]!r}.")
    state.answers = {**state.answers, "use_cases": use_cases}
    _advance(state, 2, skipped=False)
    state.save()
    return state


def suggested_connectors(state: OnboardingState) -> list[dict[str, Any]]:
    """Catalogue entries for the chosen use cases (all of them when none was chosen), suggested first."""
    from apps.connectors.selectors import catalog_entries

    wanted = {c for key in state.answers.get("use_cases", []) for c in USE_CASES[key][1]}
    entries = catalog_entries()
    for entry in entries:
        entry["suggested"] = bool(wanted & set(entry.get("categories") or []))
    return sorted(entries, key=lambda e: (not e["suggested"], e["name"].lower()))


def onboarding_install_connectors(*, actor, state: OnboardingState, slugs: list[str]) -> list[str]:
    """Install the chosen catalogue connectors (those installed already stay as they are)."""
    from apps.connectors.exceptions import ConnectorExists
    from apps.connectors.services import connector_install_from_catalog

    installed = []
    for slug in slugs[:50]:
        try:
            connector_install_from_catalog(actor=actor, catalog_slug=slug)
        except ConnectorExists:
            pass
        installed.append(slug)
    state.answers = {**state.answers, "connectors": installed}
    _advance(state, 3, skipped=False)
    state.save()
    return installed


# --- Step 4 ---------------------------------------------------------------------------------------


def onboarding_create_workflows(*, actor, state: OnboardingState, starters: list[str]) -> list[str]:
    from apps.workflows.models import Workflow
    from apps.workflows.services import workflow_create

    created = []
    for slug in starters:
        if slug not in STARTERS:
            raise InvalidInput.for_field("workflows", f"Unknown starter {slug!r}.")
        name, description, code = STARTERS[slug]
        if not Workflow.objects.filter(slug=slug).exists():
            workflow_create(actor=actor, name=name, slug=slug, description=description, code=code)
        created.append(slug)
    state.answers = {**state.answers, "workflows": created}
    _advance(state, 4, skipped=False)
    state.save()
    return created


# --- Step 5 ---------------------------------------------------------------------------------------


def onboarding_test_session(*, actor) -> tuple[Any, str]:
    """A session for the test customer (created when missing), to try the widget with."""
    from apps.settings.models import Customer
    from apps.settings.services import customer_create
    from apps.widgets.services.sessions import customer_session_create

    customer = Customer.objects.filter(external_id=TEST_CUSTOMER).first()
    if customer is None:
        customer = customer_create(actor=actor, external_id=TEST_CUSTOMER, name="Setup test customer")
    return customer_session_create(actor=actor, customer=customer, ttl_seconds=3600)


def onboarding_complete(*, actor, state: OnboardingState, skipped: bool = False) -> OnboardingState:
    from apps.settings.services import audit_record

    _advance(state, len(STEPS), skipped=skipped)
    state.completed_at = timezone.now()
    with transaction.atomic():
        state.save()
        audit_record(actor=actor, action="onboarding.complete", resource_type="organization")
    return state
