"""Sections of the main navigation and their tabs (apps.core.navigation.SECTIONS)."""

import dataclasses

import pytest

from apps.core import navigation

pytestmark = pytest.mark.django_db


def test_section_tabs_show_on_their_pages(owner, org_a):
    html = owner.get(f"/o/{org_a.slug}/integrations/workflows/").content.decode()
    assert '<nav class="subnav" aria-label="Integrations">' in html
    assert f'<a href="/o/{org_a.slug}/integrations/workflows/" aria-current="page">Workflows</a>' in html
    html = owner.get(f"/o/{org_a.slug}/activity/executions/").content.decode()
    assert f'<a href="/o/{org_a.slug}/activity/executions/" aria-current="page">Executions</a>' in html


def test_a_tab_added_to_the_list_appears_for_members_allowed_to_see_it(owner, member, org_a, monkeypatch):
    section = navigation.SECTIONS["integrations"]
    extra = (
        navigation.SectionTab("audit", "Audit", "settings_api_keys", "api_keys"),  # an existing page, for the test
    )
    monkeypatch.setitem(navigation.SECTIONS, "integrations", dataclasses.replace(section, tabs=section.tabs + extra))
    assert ">Audit</a>" in owner.get(f"/o/{org_a.slug}/integrations/workflows/").content.decode()
    viewer_html = member("viewer").get(f"/o/{org_a.slug}/integrations/workflows/").content.decode()
    assert ">Workflows</a>" in viewer_html and ">Audit</a>" not in viewer_html  # viewers lack api_keys.view


def test_a_member_who_may_see_no_tab_gets_the_section_page(member, org_a):
    nobody = member("no-such-role")  # an unknown role grants nothing
    response = nobody.get(f"/o/{org_a.slug}/activity/")
    assert response.status_code == 200 and "cannot see any page of Activity" in response.content.decode()
    assert nobody.get(f"/o/{org_a.slug}/integrations/workflows/").status_code == 403
    landing = nobody.get(f"/o/{org_a.slug}/integrations/").content.decode()
    assert ">Overview</a>" in landing and ">Workflows</a>" not in landing


def test_widgets_without_tabs_still_renders_its_section_page(owner, org_a):
    response = owner.get(f"/o/{org_a.slug}/widgets/")
    assert response.status_code == 200 and "The embeddable widget" in response.content.decode()
