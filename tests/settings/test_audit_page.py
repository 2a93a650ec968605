"""Settings → Audit Log: columns, filters, keyset pagination with htmx."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.settings.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_page_lists_filters_and_pages(client, org_a, in_org, api, role_key):
    api(org_a, key=role_key(org_a, "viewer")).post("/api/v1/customers", {"external_id": "z", "name": "z"})
    in_org(org_a)
    for n in range(60):
        AuditEvent.objects.create(
            actor_type="user",
            actor_label="bulk@alpha.test",
            action="thing.touch",
            resource_type="thing",
            resource_id=f"t{n}",
        )
    old = AuditEvent.objects.create(
        actor_type="system", actor_label="system", action="old.event", resource_type="thing"
    )
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))

    client.force_login(org_a.owner)
    url = f"/o/{org_a.slug}/settings/audit-log/"
    html = client.get(url).content.decode()
    for column in ("Timestamp", "User", "Action", "Resource", "Outcome"):
        assert f"<th>{column}</th>" in html
    assert html.count('class="audit-row"') == 50 and "Load more" in html

    denied = client.get(url, {"outcome": "denied"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="audit-results")
    body = denied.content.decode()
    assert body.lstrip().startswith('<div id="audit-results">') and "customers.create" in body
    assert "thing.touch" not in body

    page1 = client.get(url, {"action": "thing.touch"}).content.decode()
    assert page1.count('class="audit-row"') == 50
    import re

    cursor = re.search(r"cursor=([^\"&]+)", page1).group(1)
    page2 = client.get(f"{url}?action=thing.touch&cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert page2.count('class="audit-row"') == 10 and "Load more" not in page2 and "<table" not in page2

    by_user = client.get(url, {"actor": "bulk@alpha.test", "resource_type": "thing"}).content.decode()
    assert by_user.count('class="audit-row"') == 50
    today = timezone.now().date()
    recent = client.get(url, {"action": "old.event", "since": str(today - timedelta(days=2))}).content.decode()
    assert "No events match." in recent
    dated = client.get(url, {"action": "old.event", "until": str(today - timedelta(days=5))}).content.decode()
    assert dated.count('class="audit-row"') == 1


def test_audit_page_needs_the_audit_permission(client, org_a):
    from apps.accounts.models import Membership, User

    dev = User.objects.create_user(email="dev-audit@alpha.test", password="x")
    Membership.objects.create(user=dev, organization=org_a.organization, role="developer")
    client.force_login(dev)
    assert client.get(f"/o/{org_a.slug}/settings/audit-log/").status_code == 403
