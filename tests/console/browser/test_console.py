"""An admin's path through the console, in headless Chromium against a real server."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.console.browser.conftest import PASSWORD, Console, sign_in
from tests.e2e.helpers import CORE_GROUP, PATCH_OP, create_user

pytestmark = pytest.mark.e2e


def open_api_settings(page: Page) -> None:
    """The reference setup's path: the profile menu, then API Settings."""
    menu = page.locator("details.profile")
    menu.get_by_label("Profile menu", exact=False).click()
    menu.get_by_role("link", name="API Settings").click()
    expect(page.get_by_role("heading", name="API Settings", level=1)).to_be_visible()


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()


def reveal_token(page: Page, password: str = PASSWORD) -> None:
    page.get_by_label("Current Password").fill(password)
    page.get_by_role("button", name="Submit").click()


def test_sign_in_lands_on_the_overview(page: Page, console: Console) -> None:
    sign_in(page, console)
    expect(page).to_have_url(f"{console.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("contoso")
    expect(page.get_by_label("Profile menu", exact=False)).to_contain_text(
        console.email("contoso"))


def test_wrong_password_is_refused_with_a_message(page: Page, console: Console) -> None:
    sign_in(page, console, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    expect(page).to_have_url(f"{console.url}/signin")
    page.goto("/users")
    expect(page).to_have_url(f"{console.url}/signin?next=%2Fusers")


def test_lockout_after_five_wrong_passwords(page: Page, console: Console) -> None:
    for _ in range(4):
        sign_in(page, console, "lockout", password="guess")
        expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    sign_in(page, console, "lockout", password="guess")
    expect(page.get_by_role("alert")).to_contain_text("Too many wrong passwords")
    sign_in(page, console, "lockout")
    expect(page.get_by_role("alert")).to_contain_text("locked for 15 more minutes")
    expect(page).to_have_url(f"{console.url}/signin")


def test_api_settings_wrong_then_right_password_shows_the_token(
    page: Page, console: Console,
) -> None:
    sign_in(page, console)
    open_api_settings(page)
    expect(page.locator("#tenant-url")).to_have_text(f"{console.url}/scim/v2")
    expect(page.locator("#api-token")).to_have_count(0)
    reveal_token(page, "not my password")
    expect(page.get_by_role("alert")).to_have_text("The current password is not correct.")
    expect(page.locator("#api-token")).to_have_count(0)
    reveal_token(page)
    expect(page.locator("#api-token")).to_have_text(console.tenants["contoso"]["token"])
    expect(page.get_by_text("Who can see this token")).to_be_visible()


def test_copied_token_works_for_scim(page: Page, console: Console) -> None:
    sign_in(page, console)
    open_api_settings(page)
    reveal_token(page)
    page.get_by_role("button", name="Copy").nth(1).click()
    expect(page.get_by_role("status")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    page.get_by_role("button", name="Copy").first.click()
    tenant_url = page.evaluate("navigator.clipboard.readText()")
    assert tenant_url == f"{console.url}/scim/v2"
    with console.scim(copied) as scim:
        response = scim.get(f"{tenant_url}/Users", params={"filter": 'userName eq "nobody"'})
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 0


def test_reset_api_token_revokes_the_old_one(page: Page, console: Console) -> None:
    sign_in(page, console, "rotate")
    open_api_settings(page)
    reveal_token(page)
    old = page.locator("#api-token").inner_text()
    page.get_by_role("link", name="Reset API Token").click()
    expect(page.get_by_text("stops working as soon as you confirm")).to_be_visible()
    page.get_by_label("Current Password").fill(PASSWORD)
    page.get_by_role("button", name="Reset API Token").click()
    expect(page.get_by_text("A new token was issued")).to_be_visible()
    new = page.locator("#api-token").inner_text()
    assert new != old
    with console.scim(old) as scim:
        assert scim.get("/Users").status_code == 401
    with console.scim(new) as scim:
        assert scim.get("/Users").status_code == 200


def test_search_users_by_a_scim_filter(page: Page, console: Console) -> None:
    tag = uuid.uuid4().hex[:8]
    with console.scim(console.tenants["contoso"]["token"]) as scim:
        for name in ("ada", "alan", "grace"):
            create_user(scim, f"{name}-{tag}@contoso.example")
    sign_in(page, console)
    nav(page, "Users")
    search = f'userName sw "a" and userName ew "{tag}@contoso.example"'
    page.get_by_label("Search users").fill(search)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(f"ada-{tag}@contoso.example")
    expect(rows.nth(1)).to_contain_text(f"alan-{tag}@contoso.example")
    expect(page.get_by_text("Showing 1\u20132 of 2")).to_be_visible()
    page.get_by_label("Search users").fill(f"grace-{tag}")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"grace-{tag}@contoso.example")


def test_open_a_group_and_its_members(page: Page, console: Console) -> None:
    tag = uuid.uuid4().hex[:8]
    with console.scim(console.tenants["contoso"]["token"]) as scim:
        members = [create_user(scim, f"member{i}-{tag}@contoso.example") for i in range(3)]
        response = scim.post("/Groups", json={
            "schemas": [CORE_GROUP], "displayName": f"Engineering {tag}",
            "members": [{"value": m["id"]} for m in members]})
        assert response.status_code == 201, response.text
    sign_in(page, console)
    nav(page, "Groups")
    page.get_by_label("Search groups").fill(tag)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=f"Engineering {tag}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Engineering {tag}")
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    for member in members:
        expect(page.get_by_role("link", name=member["userName"])).to_be_visible()
    expect(page.locator("pre.json")).to_contain_text(f'"displayName": "Engineering {tag}"')
    page.get_by_role("link", name=members[0]["userName"]).click()
    expect(page.get_by_role("link", name=f"Engineering {tag}")).to_be_visible()


def test_a_scim_write_appears_in_the_activity_log(page: Page, console: Console) -> None:
    with console.scim(console.tenants["contoso"]["token"]) as scim:
        user = create_user(scim)
        response = scim.patch(f"/Users/{user['id']}", json={
            "schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active",
                                                   "value": "False"}]})
        assert response.status_code == 200, response.text
    sign_in(page, console)
    nav(page, "Activity")
    page.get_by_label("Resource id").fill(user["id"])
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Update")
    expect(rows.nth(0)).to_contain_text("200 OK")
    expect(rows.nth(0)).to_contain_text("127.0.0.1")
    expect(rows.nth(1)).to_contain_text("Create")
    expect(rows.nth(1)).to_contain_text("201 Created")


def test_csrf_attempt_without_the_token_is_refused(page: Page, console: Console) -> None:
    sign_in(page, console, "fabrikam")
    expect(page).to_have_url(f"{console.url}/")
    token = console.tenants["fabrikam"]["token"]
    forged = page.request.post(f"{console.url}/settings/api/reset", form={"password": PASSWORD},
                               max_redirects=0)
    assert forged.status == 403
    assert "Request refused" in forged.text()
    with console.scim(token) as scim:
        assert scim.get("/Users").status_code == 200, "the forged reset must not have happened"


def test_an_admin_never_sees_another_tenants_resources(page: Page, console: Console) -> None:
    with console.scim(console.tenants["contoso"]["token"]) as scim:
        theirs = create_user(scim)
    sign_in(page, console, "fabrikam")
    response = page.goto(f"/users/{theirs['id']}")
    assert response is not None and response.status == 404
    page.goto(f"/users?q={theirs['userName']}")
    expect(page.locator("tbody")).to_contain_text("No users match")


def test_sign_out(page: Page, console: Console) -> None:
    sign_in(page, console)
    page.get_by_label("Profile menu", exact=False).click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto("/")
    expect(page).to_have_url(f"{console.url}/signin?next=%2F")
