"""Headless Chromium driving a real ``scimhub serve`` process.

Chromium comes from the system (Debian's ``chromium`` package), since browsers
cannot be downloaded by Playwright here. When it is missing these tests fail
rather than skip: CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.server import ServerProcess

CHROMIUM = os.environ.get("SCIMHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "correct horse battery"  # what ServerProcess.create_tenant gives every admin


@dataclass
class Console:
    """A running server, its tenants (name -> tenant_id, token, admin_email) and a SCIM client."""

    server: ServerProcess
    tenants: dict[str, dict[str, str]]

    @property
    def url(self) -> str:
        return self.server.url

    def email(self, tenant: str) -> str:
        return f"admin@{tenant}.example"

    def scim(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.scim_url, timeout=10, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})


# Package-scoped: Playwright's sync API keeps an event loop running in the main
# thread while it is started, which would break asyncio.run() in later tests.
@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    workdir: Path = tmp_path_factory.mktemp("console")
    server = ServerProcess(database=f"sqlite:///{workdir}/scimhub.db", workdir=workdir)
    tenants = {name: server.create_tenant(name)
               for name in ("contoso", "fabrikam", "lockout", "rotate")}
    server.start()
    yield Console(server, tenants)
    server.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium "
                    "(or set SCIMHUB_CHROMIUM to its path)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def context(browser: Browser, console: Console) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 800})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.url)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, console: Console, tenant: str = "contoso",
            password: str = PASSWORD) -> None:
    page.goto("/signin")
    page.get_by_label("E-mail").fill(console.email(tenant))
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
