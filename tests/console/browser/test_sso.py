"""Single sign-on in headless Chromium: a real ``scimhub serve`` and a real OpenID Connect
provider (oidc-provider-mock, tests/support/oidc.py), each on 127.0.0.1 and a free port.

The admin configures SSO on the settings page, then sign-ins go through the provider's own
authorization page: success lands on the overview; an unknown or unverified e-mail, a
tampered state, a replayed callback and a token signed with a key the provider does not
publish are each refused with a clear page; requiring SSO refuses the password of a
second admin and still lets the first in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import insert

from scimhub.scim.types import TenantId
from scimhub.security import TokenVault, hash_password
from scimhub.store.database import Database
from scimhub.store.sso import SsoStore
from scimhub.store.tables import admins
from tests.console.browser.conftest import PASSWORD
from tests.e2e.server import ServerProcess
from tests.support.oidc import Provider, running_provider


@dataclass
class SsoSite:
    server: ServerProcess
    provider: Provider
    forged: Provider
    tenant: str       # tenant id of "ssoco", SSO through the settings page
    forged_tenant: str  # tenant id of "forgeco", SSO at the provider with swapped keys

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoSite]:
    workdir: Path = tmp_path_factory.mktemp("sso")
    server = ServerProcess(database=f"sqlite:///{workdir}/scimhub.db", workdir=workdir)
    tenant = server.create_tenant("ssoco")["tenant_id"]
    forged_tenant = server.create_tenant("forgeco")["tenant_id"]
    db = Database(server.database)
    with db.write() as tx:  # a second admin, created after the first
        tx.execute(insert(admins).values(
            id=str(uuid.uuid4()), tenant_id=tenant, email="second@ssoco.example",
            password_hash=hash_password(PASSWORD), created="2999-01-01T00:00:00Z"))
    with running_provider() as provider, running_provider(keys_swapped=True) as forged:
        client_id, secret = forged.register_client(f"{server.url}/sso/callback")
        vault = TokenVault.from_environment(key_file=str(workdir / "secret.key"))
        SsoStore(db, vault).save(TenantId(forged_tenant), issuer=forged.issuer,
                                 client_id=client_id, display_name="Forged IdP",
                                 client_secret=secret)
        db.dispose()
        server.start()
        try:
            yield SsoSite(server, provider, forged, tenant, forged_tenant)
        finally:
            server.stop()


@pytest.fixture()
def context(browser: Browser, site: SsoSite) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(10_000)
    # The provider's pages link a stylesheet from a CDN: nothing leaves this machine.
    ctx.route("https://**/*", lambda route: route.abort())
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context: BrowserContext) -> Page:
    return context.new_page()


def password_sign_in(page: Page, email: str) -> None:
    page.goto("/signin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


@pytest.fixture(scope="module")
def configured(site: SsoSite, browser: Browser) -> None:
    """The first admin saves SSO for ssoco on the settings page, once for the module."""
    client_id, secret = site.provider.register_client(f"{site.url}/sso/callback")
    ctx = browser.new_context(base_url=site.url)
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    password_sign_in(page, "admin@ssoco.example")
    expect_overview(page)
    page.locator("details.profile").get_by_label("Profile menu", exact=False).click()
    page.get_by_role("link", name="Single sign-on").click()
    expect(page.locator("#callback-url")).to_have_text(f"{site.url}/sso/callback")
    expect(page.locator("#sign-in-address")).to_have_text(f"{site.url}/signin/{site.tenant}")
    page.get_by_label("Issuer").fill(site.provider.issuer)
    page.get_by_label("Client ID").fill(client_id)
    page.get_by_label("Client secret").fill(secret)
    page.get_by_label("Button name").fill("Mock IdP")
    page.locator("#save-password").fill(PASSWORD)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Single sign-on is saved")
    assert secret not in page.content()
    ctx.close()


def sso_sign_in(page: Page, site: SsoSite, sub: str, claims: dict[str, object],
                tenant: str | None = None, button: str = "Mock IdP") -> None:
    """From the tenant's sign-in address through the provider's authorization page."""
    provider = site.forged if tenant == site.forged_tenant else site.provider
    provider.set_user(sub, claims)
    page.goto(f"/signin/{tenant or site.tenant}")
    page.get_by_role("link", name=f"Sign in with {button}").click()
    page.wait_for_url(f"{provider.issuer}/oauth2/authorize*")
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def capture_callback(page: Page, site: SsoSite) -> list[str]:
    """Stops the browser at the provider's redirect to the callback, keeping the callback's
    URL, so a test can alter or replay it (a redirect's target cannot be routed itself)."""
    seen: list[str] = []

    def hold(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)
        seen.append(answer.headers["location"])
        route.fulfill(status=200, content_type="text/html", body="<p>held</p>")

    page.route(f"{site.provider.issuer}/oauth2/authorize*", hold)
    return seen


def expect_overview(page: Page) -> None:
    expect(page.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")


def expect_refused(page: Page, reason: str) -> None:
    expect(page.get_by_role("heading", name="Single sign-on refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(reason)
    expect(page.get_by_role("link", name="Back to sign-in")).to_be_visible()


@pytest.mark.usefixtures("configured")
def test_sso_sign_in_lands_on_the_overview(page: Page, site: SsoSite) -> None:
    sso_sign_in(page, site, "alice", {"email": "Admin@SSOco.example", "email_verified": True})
    page.wait_for_url(f"{site.url}/")
    expect_overview(page)
    expect(page.get_by_label("Profile menu", exact=False)).to_contain_text("admin@ssoco.example")


@pytest.mark.usefixtures("configured")
def test_an_unknown_email_is_refused(page: Page, site: SsoSite) -> None:
    sso_sign_in(page, site, "stranger", {"email": "stranger@ssoco.example",
                                         "email_verified": True})
    expect_refused(page, "stranger@ssoco.example is not an admin of this tenant")
    page.get_by_role("link", name="Back to sign-in").click()
    expect(page.get_by_role("link", name="Sign in with Mock IdP")).to_be_visible()


@pytest.mark.usefixtures("configured")
def test_an_unverified_email_is_refused(page: Page, site: SsoSite) -> None:
    sso_sign_in(page, site, "unverified", {"email": "admin@ssoco.example",
                                           "email_verified": False})
    expect_refused(page, "did not say that the e-mail address admin@ssoco.example is verified")
    page.goto("/")
    page.wait_for_url("**/signin?next=*")  # nobody was signed in


@pytest.mark.usefixtures("configured")
def test_a_wrong_state_is_refused(page: Page, site: SsoSite) -> None:
    held = capture_callback(page, site)
    sso_sign_in(page, site, "alice", {"email": "admin@ssoco.example", "email_verified": True})
    expect(page.get_by_text("held")).to_be_visible()
    genuine = held[0]
    state = genuine.split("state=", 1)[1].split("&", 1)[0]
    page.goto(genuine.replace(f"state={state}", f"state={state[:-3]}abc"))
    expect_refused(page, "does not belong to a sign-in started in this browser")
    page.goto("/")
    page.wait_for_url("**/signin?next=*")


@pytest.mark.usefixtures("configured")
def test_a_replayed_callback_is_refused(page: Page, site: SsoSite) -> None:
    held = capture_callback(page, site)
    sso_sign_in(page, site, "alice", {"email": "admin@ssoco.example", "email_verified": True})
    expect(page.get_by_text("held")).to_be_visible()
    page.goto(held[0])
    page.wait_for_url(f"{site.url}/")
    page.context.clear_cookies()
    page.goto(held[0])
    expect_refused(page, "does not belong to a sign-in started in this browser")


def test_a_token_not_signed_by_the_provider_is_refused(page: Page, site: SsoSite) -> None:
    sso_sign_in(page, site, "alice", {"email": "admin@forgeco.example", "email_verified": True},
                tenant=site.forged_tenant, button="Forged IdP")
    expect_refused(page, "signature does not verify")


@pytest.mark.usefixtures("configured")
def test_requiring_sso_refuses_a_second_admins_password_not_the_firsts(
        context: BrowserContext, site: SsoSite) -> None:
    first = context.new_page()
    password_sign_in(first, "admin@ssoco.example")
    first.goto("/settings/sso")
    first.locator("#require-password").fill(PASSWORD)
    first.get_by_role("button", name="Require single sign-on").click()
    expect(first.get_by_role("status").first).to_contain_text("Single sign-on is now required")
    try:
        second = context.browser.new_page(base_url=site.url)  # type: ignore[union-attr]
        password_sign_in(second, "second@ssoco.example")
        expect(second.get_by_role("alert")).to_contain_text(
            "This tenant requires single sign-on")
        expect(second.get_by_role("alert")).to_contain_text(f"/signin/{site.tenant}")
        second.close()
        third = context.browser.new_page(base_url=site.url)  # type: ignore[union-attr]
        password_sign_in(third, "admin@ssoco.example")
        expect_overview(third)
        third.close()
    finally:
        first.goto("/settings/sso")
        first.locator("#require-password").fill(PASSWORD)
        first.get_by_role("button", name="Stop requiring single sign-on").click()
        expect(first.get_by_role("status").first).to_contain_text("no longer required")
