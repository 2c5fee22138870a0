"""Single sign-on in-process (Starlette's TestClient) against a real OpenID Connect provider
(tests/support/oidc.py), on SQLite and PostgreSQL: the settings page, the flow and each
refusal. The browser tests (tests/console/browser/test_sso.py) drive the same in Chromium."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from scimhub.scim.types import TenantId
from scimhub.security import hash_password
from scimhub.store.console_tables import console_events, tenant_sso
from scimhub.store.tables import admins
from tests.console.conftest import PASSWORD, Site, csrf_of, sign_in
from tests.e2e.server import free_port
from tests.support.oidc import Provider, running_provider

CALLBACK = "http://testserver/sso/callback"
VERIFIED = {"email": "admin@acme.example", "email_verified": True}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def forged() -> Iterator[Provider]:
    """A provider whose published key is not the one it signs with."""
    with running_provider(keys_swapped=True) as running:
        yield running


def tenant_id(site: Site, name: str = "acme") -> TenantId:
    return site.ctx.tenants.by_name(name).id


def configure(site: Site, provider: Provider, tenant: str = "acme") -> TestClient:
    """Signs in as the tenant's admin and saves SSO through the settings page."""
    client_id, secret = provider.register_client(CALLBACK)
    client = site.client()
    sign_in(client, tenant)
    page = client.get("/settings/sso")
    response = client.post("/settings/sso", data={
        "csrf": csrf_of(page.text), "issuer": provider.issuer, "client_id": client_id,
        "client_secret": secret, "display_name": "Mock IdP", "password": PASSWORD})
    assert response.status_code == 200 and "Single sign-on is saved" in response.text, \
        response.text
    return client


def start(client: TestClient, site: Site, tenant: str = "acme") -> str:
    """Follows /signin/<tenant> to the provider's authorization URL."""
    page = client.get(f"/signin/{tenant_id(site, tenant)}")
    assert page.status_code == 200 and "Sign in with Mock IdP" in page.text
    link = re.search(r'href="(/signin/[^"]+/sso[^"]*)"', page.text)
    assert link
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 303
    return str(response.headers["location"])


def authorize(provider: Provider, url: str, sub: str | None,
              claims: dict[str, object] | None = None) -> str:
    """What the user does at the provider: sign in as ``sub`` (None: deny). The callback URL."""
    if sub is not None:
        provider.set_user(sub, claims or {})
        form = {"sub": sub}
    else:
        form = {"action": "deny"}
    response = httpx.post(url, data=form)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


def callback(client: TestClient, url: str) -> httpx.Response:
    assert url.startswith(CALLBACK), url
    return client.get(url.removeprefix("http://testserver"))


def events(site: Site, action: str) -> list[tuple[str | None, str | None, str | None]]:
    with site.ctx.db.read() as tx:
        rows = tx.all(select(console_events.c.tenant_id, console_events.c.actor,
                             console_events.c.detail)
                      .where(console_events.c.action == action).order_by(console_events.c.id))
    return [(r[0], r[1], r[2]) for r in rows]


def test_sso_signs_in_an_admin_whose_verified_email_matches(site: Site,
                                                            provider: Provider) -> None:
    configure(site, provider)
    client = site.client()
    url = start(client, site)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(provider.issuer)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == [CALLBACK]
    back = authorize(provider, url, "alice", {"email": "Admin@Acme.example",
                                             "email_verified": True})
    response = callback(client, back)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "scimhub_session" in client.cookies
    overview = client.get("/")
    assert overview.status_code == 200 and "admin@acme.example" in overview.text
    assert events(site, "sso_sign_in") == [
        (tenant_id(site), "admin@acme.example", f"as alice at {provider.issuer}")]


def test_entra_xms_edov_stands_for_email_verified(site: Site, provider: Provider) -> None:
    configure(site, provider)
    client = site.client()
    back = authorize(provider, start(client, site), "entra-user",
                     {"email": "admin@acme.example", "xms_edov": True})
    assert callback(client, back).status_code == 303


@pytest.mark.parametrize("claims", [
    {"email": "admin@acme.example"},
    {"email": "admin@acme.example", "email_verified": False},
    {"email": "admin@acme.example", "email_verified": False, "xms_edov": True},
])
def test_an_unverified_email_is_refused(site: Site, provider: Provider,
                                        claims: dict[str, object]) -> None:
    configure(site, provider)
    client = site.client()
    response = callback(client, authorize(provider, start(client, site), "mallory", claims))
    assert response.status_code == 403
    assert "did not say that the e-mail address admin@acme.example is verified" in response.text
    assert "scimhub_session" not in client.cookies
    assert f'href="/signin/{tenant_id(site)}"' in response.text
    assert [e[0] for e in events(site, "sso_refused")] == [tenant_id(site)]


def test_an_email_that_is_no_admin_of_this_tenant_is_refused(site: Site,
                                                            provider: Provider) -> None:
    configure(site, provider)
    client = site.client()
    # globex's admin exists, but not in acme: matching is within the tenant only.
    for email in ("stranger@acme.example", "admin@globex.example"):
        back = authorize(provider, start(client, site), email,
                         {"email": email, "email_verified": True})
        response = callback(client, back)
        assert response.status_code == 403
        assert f"{email} is not an admin of this tenant" in response.text
    assert "scimhub_session" not in client.cookies


def test_a_tampered_state_is_refused(site: Site, provider: Provider) -> None:
    configure(site, provider)
    client = site.client()
    back = authorize(provider, start(client, site), "alice", VERIFIED)
    state = parse_qs(urlsplit(back).query)["state"][0]
    response = callback(client, back.replace(state, state[:-2] + "xx"))
    assert response.status_code == 403
    assert "does not belong to a sign-in started in this browser" in response.text
    # The genuine answer is dead too: the tampering spoiled this browser's sign-in.
    assert callback(client, back).status_code == 403
    assert "scimhub_session" not in client.cookies
    assert events(site, "sso_refused")[0][0] == tenant_id(site)


def test_a_callback_in_another_browser_signs_nobody_in(site: Site,
                                                       provider: Provider) -> None:
    configure(site, provider)
    attacker = site.client()
    back = authorize(provider, start(attacker, site), "alice", VERIFIED)
    victim = site.client()
    response = callback(victim, back)
    assert response.status_code == 403 and "scimhub_session" not in victim.cookies


def test_a_replayed_callback_and_a_replayed_code_are_refused(site: Site,
                                                             provider: Provider) -> None:
    configure(site, provider)
    client = site.client()
    back = authorize(provider, start(client, site), "alice", VERIFIED)
    assert callback(client, back).status_code == 303
    client.cookies.clear()
    again = callback(client, back)
    assert again.status_code == 403 and "scimhub_session" not in client.cookies
    # Even with the state cookie put back, the state was consumed by the first callback.
    state = parse_qs(urlsplit(back).query)["state"][0]
    client.cookies.set("scimhub_sso", state, domain="testserver.local", path="/sso/callback")
    again = callback(client, back)
    assert again.status_code == 403 and "already completed or abandoned" in again.text
    assert "scimhub_session" not in client.cookies
    client.cookies.clear()
    # The same code under a fresh sign-in of this browser: the provider refuses it.
    fresh = start(client, site)
    state = parse_qs(urlsplit(fresh).query)["state"][0]
    code = parse_qs(urlsplit(back).query)["code"][0]
    response = client.get(f"/sso/callback?code={code}&state={state}")
    assert response.status_code == 403
    assert "refused to exchange the sign-in code (invalid_grant" in response.text
    assert "scimhub_session" not in client.cookies


def test_a_token_not_signed_with_the_published_key_is_refused(site: Site,
                                                              forged: Provider) -> None:
    configure(site, forged)
    client = site.client()
    response = callback(client, authorize(forged, start(client, site), "alice", VERIFIED))
    assert response.status_code == 403
    assert "signature does not verify" in response.text
    assert "scimhub_session" not in client.cookies


def test_an_id_token_minted_for_another_nonce_is_refused(site: Site,
                                                        provider: Provider) -> None:
    configure(site, provider)
    client = site.client()
    url = start(client, site)
    nonce = parse_qs(urlsplit(url).query)["nonce"][0]
    back = authorize(provider, url.replace(f"nonce={nonce}", "nonce=someone-elses"),
                     "alice", VERIFIED)
    response = callback(client, back)
    assert response.status_code == 403
    assert "claims do not check out" in response.text and "nonce" in response.text
    assert "scimhub_session" not in client.cookies


def test_the_providers_refusal_is_shown(site: Site, provider: Provider) -> None:
    configure(site, provider)
    client = site.client()
    response = callback(client, authorize(provider, start(client, site), None))
    assert response.status_code == 403
    assert "The identity provider refused the sign-in (access_denied" in response.text
    assert [e[0] for e in events(site, "sso_refused")] == [tenant_id(site)]


def test_a_callback_without_state_or_code_is_a_clear_page(site: Site,
                                                          provider: Provider) -> None:
    client = site.client()
    for url in ("/sso/callback", "/sso/callback?code=x", "/sso/callback?state=" + "a" * 300):
        response = client.get(url)
        assert response.status_code == 400 and "Single sign-on refused" in response.text


def test_settings_need_the_password_and_never_show_the_secret(site: Site,
                                                              provider: Provider) -> None:
    client_id, secret = provider.register_client(CALLBACK)
    client = site.client()
    sign_in(client)
    page = client.get("/settings/sso")
    assert "http://testserver/sso/callback" in page.text
    assert f"http://testserver/signin/{tenant_id(site)}" in page.text
    form = {"csrf": csrf_of(page.text), "issuer": provider.issuer, "client_id": client_id,
            "client_secret": secret, "display_name": "Mock IdP"}
    wrong = client.post("/settings/sso", data={**form, "password": "wrong"})
    assert "The current password is not correct." in wrong.text
    assert secret not in wrong.text
    no_csrf = client.post("/settings/sso", data={**form, "csrf": "x", "password": PASSWORD})
    assert no_csrf.status_code == 403
    with site.ctx.db.read() as tx:
        assert tx.all(select(tenant_sso)) == []
    saved = client.post("/settings/sso", data={**form, "password": PASSWORD})
    assert "Single sign-on is saved" in saved.text and secret not in saved.text
    assert secret not in client.get("/settings/sso").text
    assert events(site, "sso_configured") == [(
        tenant_id(site), "admin@acme.example",
        f"issuer {provider.issuer}, client id {client_id}, button 'Mock IdP', client secret set")]
    assert all(secret not in (e[2] or "") for e in events(site, "sso_configured"))


@pytest.mark.parametrize(("issuer", "message"), [
    ("http://idp.example", "is not an https:// URL"),
    ("https://idp.example/?x=1", "must not have a query"),
    ("not a url", "must be an https:// URL"),
])
def test_an_issuer_that_is_no_url_scimhub_accepts_is_refused(
        site: Site, issuer: str, message: str) -> None:
    client = site.client()
    sign_in(client)
    page = client.get("/settings/sso")
    response = client.post("/settings/sso", data={
        "csrf": csrf_of(page.text), "issuer": issuer, "client_id": "app",
        "client_secret": "s", "display_name": "IdP", "password": PASSWORD})
    assert response.status_code == 400 and message in response.text
    assert "Not saved" in response.text


def test_an_issuer_that_does_not_answer_or_is_not_oidc_is_refused(
        site: Site, provider: Provider) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    client = site.client()
    sign_in(client)
    cases = [
        (dead, "did not answer"),
        (provider.issuer + "/jwks", "answered HTTP 404"),       # an URL, but no discovery
        (provider.issuer + "/", "names the issuer"),             # not exactly the issuer
    ]
    for issuer, message in cases:
        page = client.get("/settings/sso")
        response = client.post("/settings/sso", data={
            "csrf": csrf_of(page.text), "issuer": issuer, "client_id": "app",
            "client_secret": "s", "display_name": "IdP", "password": PASSWORD})
        assert response.status_code == 400, issuer
        assert message in response.text, (issuer, response.text)
    with site.ctx.db.read() as tx:
        assert tx.all(select(tenant_sso)) == []


def _second_admin(site: Site) -> None:
    with site.ctx.db.write() as tx:
        tx.execute(insert(admins).values(
            id=str(uuid.uuid4()), tenant_id=tenant_id(site), email="second@acme.example",
            password_hash=hash_password(PASSWORD), created="2999-01-01T00:00:00Z"))


def _password_sign_in(site: Site, email: str) -> httpx.Response:
    client = site.client()
    token = csrf_of(client.get("/signin").text)
    return client.post("/signin", data={"email": email, "password": PASSWORD, "csrf": token})


def test_requiring_sso_refuses_passwords_but_the_first_admins(site: Site,
                                                              provider: Provider) -> None:
    _second_admin(site)
    client = site.client()
    sign_in(client)
    page = client.get("/settings/sso")
    assert "Require single sign-on" not in page.text  # nothing to require yet
    refused = client.post("/settings/sso/require", data={
        "csrf": csrf_of(page.text), "required": "on", "password": PASSWORD})
    assert refused.status_code == 400 and "Configure single sign-on before" in refused.text
    client = configure(site, provider)
    page = client.get("/settings/sso")
    response = client.post("/settings/sso/require", data={
        "csrf": csrf_of(page.text), "required": "on", "password": PASSWORD})
    assert "Single sign-on is now required" in response.text
    assert "admin@acme.example" in response.text  # the break-glass admin is named
    second = _password_sign_in(site, "second@acme.example")
    assert second.status_code == 403
    assert "This tenant requires single sign-on" in second.text
    assert f"/signin/{tenant_id(site)}" in second.text
    assert _password_sign_in(site, "admin@acme.example").status_code == 303
    assert _password_sign_in(site, "admin@globex.example").status_code == 303
    # SSO still signs the second admin in.
    sso = site.client()
    back = authorize(provider, start(sso, site), "second",
                     {"email": "second@acme.example", "email_verified": True})
    assert callback(sso, back).status_code == 303
    assert events(site, "sso_required") == [(tenant_id(site), "admin@acme.example",
                                             "required")]
    # Removing SSO lifts the requirement.
    page = client.get("/settings/sso")
    removed = client.post("/settings/sso/remove", data={"csrf": csrf_of(page.text),
                                                        "password": PASSWORD})
    assert "Single sign-on is removed" in removed.text
    assert _password_sign_in(site, "second@acme.example").status_code == 303
    assert [e[1] for e in events(site, "sso_removed")] == ["admin@acme.example"]


def test_unknown_tenant_sign_in_address_is_not_found(site: Site) -> None:
    client = site.client()
    for path in (f"/signin/{uuid.uuid4()}", "/signin/not-a-tenant!", "/signin/" + "a" * 40):
        assert client.get(path).status_code == 404, path
    response = client.get(f"/signin/{tenant_id(site)}/sso")
    assert response.status_code == 404 and "not configured" in response.text
    plain = client.get(f"/signin/{tenant_id(site)}")
    assert plain.status_code == 200 and "Sign in with" not in plain.text
