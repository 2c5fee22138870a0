"""Admins, Your account and the Console activity tab, in headless Chromium against a real
``scimhub serve`` (tests/console/browser/conftest.py)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.console.browser.conftest import PASSWORD, Console, sign_in

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a new and long password"


def new_tenant(console: Console) -> str:
    """A tenant of this test's own (the server is shared by the package's tests)."""
    name = f"t{uuid.uuid4().hex[:10]}"
    console.tenants[name] = console.server.create_tenant(name)
    return name


def fresh(browser: Browser, console: Console) -> BrowserContext:
    ctx = browser.new_context(base_url=console.url)
    ctx.set_default_timeout(10_000)
    return ctx


def sign_in_as(page: Page, email: str, password: str) -> None:
    page.goto("/signin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_menu_item(page: Page, name: str) -> None:
    menu = page.locator("details.profile")
    menu.get_by_label("Profile menu", exact=False).click()
    menu.get_by_role("link", name=name).click()


def add_with_password(page: Page, email: str) -> None:
    page.goto("/settings/admins")
    page.get_by_label("E-mail of the new admin").fill(email)
    page.get_by_label("A first password that I set and hand over").check()
    page.get_by_label("First password (only").fill(NEW_PASSWORD)
    page.get_by_label("First password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Add admin").click()
    expect(page.get_by_role("status")).to_contain_text(f"{email} is an admin")


def test_invite_by_link_accept_in_a_fresh_browser_and_sign_in(
    page: Page, console: Console, browser: Browser,
) -> None:
    tenant = new_tenant(console)
    sign_in(page, console, tenant)
    open_menu_item(page, "Admins")
    expect(page.get_by_role("heading", name="Admins", level=1)).to_be_visible()
    invited = f"invited@{tenant}.example"
    page.get_by_label("E-mail of the new admin").fill(invited)
    page.get_by_role("button", name="Add admin").click()
    link = page.locator("#invite-link").inner_text().strip()
    assert link.startswith(f"{console.url}/invite/")
    expect(page.get_by_role("cell", name=invited, exact=True)).to_be_visible()  # pending

    guest_ctx = fresh(browser, console)
    try:
        guest = guest_ctx.new_page()
        guest.goto(link)
        expect(guest.get_by_role("heading", level=1)).to_have_text(
            f"Become an admin of {tenant}")
        guest.get_by_label("Password", exact=True).fill("too short")
        guest.get_by_label("Password again").fill("too short")
        guest.get_by_role("button", name="Create my account").click()
        expect(guest.get_by_role("alert")).to_contain_text("at least 12 characters")
        guest.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        guest.get_by_label("Password again").fill(NEW_PASSWORD)
        guest.get_by_role("button", name="Create my account").click()
        expect(guest.get_by_role("status")).to_contain_text("Your admin account is ready")
        sign_in_as(guest, invited, NEW_PASSWORD)
        expect(guest).to_have_url(f"{console.url}/")
        expect(guest.get_by_label("Profile menu", exact=False)).to_contain_text(invited)
        guest.goto(link)  # used: the link no longer works
        expect(guest.get_by_role("heading", level=1)).to_have_text(
            "This invitation link does not work")
    finally:
        guest_ctx.close()


def test_remove_an_admin_signs_them_out(page: Page, console: Console, browser: Browser) -> None:
    tenant = new_tenant(console)
    sign_in(page, console, tenant)
    other = f"other@{tenant}.example"
    add_with_password(page, other)
    their_ctx = fresh(browser, console)
    try:
        theirs = their_ctx.new_page()
        sign_in_as(theirs, other, NEW_PASSWORD)
        expect(theirs).to_have_url(f"{console.url}/")
        page.goto("/settings/admins")
        page.get_by_role("link", name=f"Remove {other}").click()
        page.get_by_role("button", name=f"Remove {other}").click()
        expect(page.get_by_role("status")).to_contain_text(f"{other} is no longer an admin")
        expect(page.get_by_role("cell", name=other, exact=True)).to_have_count(0)
        theirs.goto("/users")
        expect(theirs).to_have_url(f"{console.url}/signin?next=%2Fusers")
    finally:
        their_ctx.close()


def test_the_last_admin_cannot_be_removed(page: Page, console: Console) -> None:
    tenant = new_tenant(console)
    sign_in(page, console, tenant)
    page.goto("/settings/admins")
    expect(page.get_by_text("The last admin cannot be removed")).to_be_visible()
    expect(page.get_by_role("link", name="Remove", exact=False)).to_have_count(0)


def test_change_own_password(page: Page, console: Console) -> None:
    tenant = new_tenant(console)
    sign_in(page, console, tenant)
    open_menu_item(page, "Your account")
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The current password is not correct.")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password was changed")
    page.locator("details.profile").get_by_label("Profile menu", exact=False).click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    sign_in(page, console, tenant)  # the old password
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    sign_in(page, console, tenant, password=NEW_PASSWORD)
    expect(page).to_have_url(f"{console.url}/")


def test_sign_out_other_sessions(page: Page, console: Console, browser: Browser) -> None:
    tenant = new_tenant(console)
    other_ctx = fresh(browser, console)
    try:
        elsewhere = other_ctx.new_page()
        sign_in(elsewhere, console, tenant)
        expect(elsewhere).to_have_url(f"{console.url}/")
        sign_in(page, console, tenant)
        page.goto("/account")
        expect(page.locator("#other-sessions")).to_contain_text("1 more time")
        page.get_by_role("button", name="Sign out other sessions").click()
        expect(page.get_by_role("status")).to_have_text("1 other session signed out.")
        elsewhere.goto("/groups")
        expect(elsewhere).to_have_url(f"{console.url}/signin?next=%2Fgroups")
        page.goto("/groups")
        expect(page).to_have_url(f"{console.url}/groups")
    finally:
        other_ctx.close()


def test_activity_shows_who_did_what_from_where(
    page: Page, console: Console, browser: Browser,
) -> None:
    tenant = new_tenant(console)
    admin = console.email(tenant)
    sign_in(page, console, tenant)
    page.goto("/settings/api")
    page.get_by_label("Current Password").fill(PASSWORD)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#api-token")).to_be_visible()
    page.goto("/settings/api/reset")
    page.get_by_label("Current Password").fill(PASSWORD)
    page.get_by_role("button", name="Reset API Token").click()
    expect(page.locator("#api-token")).to_be_visible()
    token = page.locator("#api-token").inner_text().strip()

    locked = f"locked@{tenant}.example"
    add_with_password(page, locked)
    guess_ctx = fresh(browser, console)
    try:
        guesser = guess_ctx.new_page()
        for _ in range(5):
            sign_in_as(guesser, locked, "a wrong guess")
        expect(guesser.get_by_role("alert")).to_contain_text("Too many wrong passwords")
    finally:
        guess_ctx.close()
    page.goto("/settings/admins")
    page.get_by_role("link", name=f"Remove {locked}").click()
    page.get_by_role("button", name=f"Remove {locked}").click()

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Activity").click()
    page.get_by_role("navigation", name="Activity logs").get_by_role(
        "link", name="Console").click()
    table = page.locator("#console-events")
    expected = [
        ("Admin removed", admin, f"removed {locked}"),
        ("Locked out", locked, "locked for this e-mail from this address"),
        ("Failed sign-in", locked, "wrong password"),
        ("Admin added", admin, f"added {locked} with a first password"),
        ("API token reset", admin, ""),
        ("API token revealed", admin, ""),
        ("Signed in", admin, ""),
    ]
    for label, who, detail in expected:
        row = table.locator("tbody tr").filter(has_text=label).filter(has_text=who).first
        expect(row).to_be_visible()
        expect(row.locator("td").nth(3)).to_have_text("127.0.0.1")
        if detail:
            expect(row.locator("td").nth(4)).to_contain_text(detail)
    expect(table.locator("tbody tr").filter(has_text="Failed sign-in")).to_have_count(5)
    assert token not in page.content()
    page.get_by_label("Action").select_option("token_reset")
    page.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(1)
