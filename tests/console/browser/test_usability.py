"""Keyboard use, labels, phones, and no request ever leaving the server."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.console.browser.conftest import PASSWORD, Console, sign_in
from tests.e2e.helpers import create_group, create_user

pytestmark = pytest.mark.e2e

PAGES = ("/", "/users", "/groups", "/activity", "/provisioning", "/settings/api",
         "/settings/api/reset")
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
    .filter(e => e.type !== "hidden")
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")
                 && !e.getAttribute("aria-labelledby"))
    .map(e => e.outerHTML)"""


def _with_details(console: Console) -> tuple[str, str]:
    with console.scim(console.tenants["contoso"]["token"]) as scim:
        user = create_user(scim)
        group = create_group(scim, members=[user["id"]])
    return f"/users/{user['id']}", f"/groups/{group['id']}"


def test_sign_in_and_reveal_the_token_with_the_keyboard_only(
    page: Page, console: Console,
) -> None:
    page.goto("/signin")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(console.email("contoso"))
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{console.url}/")
    page.locator("details.profile summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="API Settings").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="API Settings", level=1)).to_be_visible()
    page.get_by_label("Current Password").focus()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#api-token")).to_have_text(console.tenants["contoso"]["token"])


def test_every_input_has_a_label_and_nothing_is_fetched_elsewhere(
    context: BrowserContext, page: Page, console: Console,
) -> None:
    elsewhere: list[str] = []
    context.on("request", lambda r: None if r.url.startswith((console.url, "data:"))
               else elsewhere.append(r.url))
    page.goto("/signin")
    assert page.evaluate(UNLABELLED) == []
    sign_in(page, console)
    for path in (*PAGES, *_with_details(console)):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.evaluate(UNLABELLED) == [], path
    assert elsewhere == [], f"the console fetched from elsewhere: {elsewhere}"


def test_pages_fit_a_phone_screen(browser_phone: Page, console: Console) -> None:
    page = browser_phone
    sign_in(page, console)
    for path in (*PAGES, *_with_details(console)):
        page.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone screen"


@pytest.fixture()
def browser_phone(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    return page
