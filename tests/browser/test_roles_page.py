"""Settings → Roles in a real browser: the matrix of a system role is
read-only; a custom role is created, its checkboxes saved with htmx, and
the saved matrix is what the API reports."""

import re

import pytest

from tests.browser.test_settings_pages import sign_in

pytestmark = [pytest.mark.browser]


def test_roles_matrix_page(page, web_server, live_org):
    org = live_org()
    sign_in(page, web_server, org)
    page.click("nav.mainnav >> text=Settings")
    page.click("nav.sidenav >> text=Roles")
    page.wait_for_url(re.compile(r".*/settings/roles/$"))
    assert page.locator("h1").inner_text() == "Roles"

    # System roles: the matrix shows, every box is disabled.
    page.click("nav.role-list >> [data-role=viewer]")
    page.locator("[data-testid=role-title]", has_text="Viewer").wait_for()
    assert page.locator("#role-matrix input[value='customers.view']").is_checked()
    assert not page.locator("#role-matrix input[value='customers.create']").is_checked()
    assert page.locator("#role-matrix input[type=checkbox]:not([disabled])").count() == 0

    # A custom role, started from Viewer.
    page.fill(".role-create input[name=name]", "Support desk")
    page.select_option(".role-create select[name=copy_from]", "viewer")
    page.click(".role-create button[type=submit]")
    page.locator("text=Role Support desk created.").wait_for()
    assert page.locator("#role-matrix input[value='customers.view']").is_checked()
    page.check("#role-matrix input[value='customers.create']")
    page.check("#role-matrix input[value='customers.edit']")
    page.uncheck("#role-matrix input[value='secrets.view']")
    page.click("#role-matrix-form button[type=submit]")
    page.locator("text=Role Support desk saved.").wait_for()

    page.reload()
    assert page.locator("#role-matrix input[value='customers.create']").is_checked()
    assert not page.locator("#role-matrix input[value='secrets.view']").is_checked()
    response = page.request.get(
        f"{web_server}/api/v1/roles/support-desk",
        headers={"x-fastn-access-key": org.keys["live"], "x-fastn-account-id": org.account_id},
    )
    permissions = response.json()["permissions"]
    assert "customers.create" in permissions and "customers.edit" in permissions
    assert "secrets.view" not in permissions

    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "roles-matrix-custom-role.png"), full_page=True)

    # It can be given to people: it is offered on the People page.
    page.click("nav.sidenav >> text=People")
    page.wait_for_url(re.compile(r".*/settings/people/$"))
    assert page.locator("#invite-form select[name=role] option[value=support-desk]").count() == 1
