"""The console's pages in-process: sign-in, sessions, CSRF, lockout, API Settings, isolation."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from scimhub.console import console_routes
from scimhub.console.provisioning import JobSummary
from scimhub.scim.types import TenantId
from tests.console.conftest import PASSWORD, Site, csrf_of, sign_in
from tests.e2e.helpers import CORE_GROUP, CORE_USER


def _scim(site: Site, tenant: str, method: str, path: str, body: Any = None) -> Any:
    client = site.client()
    response = client.request(method, "/scim/v2" + path, json=body,
                              headers={"Authorization": f"Bearer {site.tokens[tenant]}"})
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _user(site: Site, tenant: str, name: str, **extra: Any) -> dict[str, Any]:
    return dict(_scim(site, tenant, "POST", "/Users",
                      {"schemas": [CORE_USER], "userName": name, **extra}))


def _cookie(set_cookie: str) -> Any:
    jar: SimpleCookie = SimpleCookie()
    jar.load(set_cookie)
    return next(iter(jar.values()))


def test_pages_need_a_session_and_come_back_after_sign_in(site: Site) -> None:
    client = site.client()
    response = client.get("/users?q=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fusers%3Fq%3Dx"
    page = client.get(response.headers["location"])
    response = client.post("/signin", data={
        "email": "admin@acme.example", "password": PASSWORD, "csrf": csrf_of(page.text),
        "next": "/users?q=x"})
    assert response.headers["location"] == "/users?q=x"


def test_session_cookie_is_httponly_samesite_and_secure_over_https(site: Site) -> None:
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = site.client(base)
        token = csrf_of(client.get("/signin").text)
        response = client.post("/signin", data={"email": "admin@acme.example",
                                                "password": PASSWORD, "csrf": token})
        session = next(_cookie(c) for c in response.headers.get_list("set-cookie")
                       if c.startswith("scimhub_session="))
        assert session["httponly"] is True
        assert session["samesite"].lower() == "lax"
        assert bool(session["secure"]) is secure
        assert len(session.value) >= 43


def test_redirect_after_sign_in_stays_on_this_site(site: Site) -> None:
    client = site.client()
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"email": "admin@acme.example", "password": PASSWORD,
                                            "csrf": token, "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


def test_wrong_password_then_lockout_with_a_clear_message(site: Site) -> None:
    client = site.client()
    token = csrf_of(client.get("/signin").text)
    form = {"email": "admin@acme.example", "password": "wrong", "csrf": token}
    for _ in range(4):
        response = client.post("/signin", data=form)
        assert response.status_code == 200
        assert "Wrong e-mail or password." in response.text
    response = client.post("/signin", data=form)
    assert response.status_code == 429
    assert "Too many wrong passwords" in response.text and "locked for 15" in response.text
    response = client.post("/signin", data={**form, "password": PASSWORD})
    assert response.status_code == 429, "the right password must not open a locked e-mail"
    other = site.client()
    sign_in(other, "globex")


def test_sign_in_form_without_its_csrf_token_is_refused(site: Site) -> None:
    client = site.client()
    client.get("/signin")
    response = client.post("/signin", data={"email": "admin@acme.example",
                                            "password": PASSWORD})
    assert response.status_code == 403
    assert "scimhub_session" not in response.headers.get("set-cookie", "")


def test_signed_in_posts_without_the_session_token_are_refused(site: Site) -> None:
    client = site.client()
    sign_in(client)
    old_token = site.tokens["acme"]
    for data in ({"password": PASSWORD}, {"password": PASSWORD, "csrf": "forged"}):
        response = client.post("/settings/api/reset", data=data)
        assert response.status_code == 403
        assert "Request refused" in response.text
    assert site.ctx.tenants.authenticate(old_token) is not None


def test_sign_out_ends_the_session_on_the_server(site: Site) -> None:
    client = site.client()
    sign_in(client)
    session_cookie = client.cookies["scimhub_session"]
    token = csrf_of(client.get("/").text)
    response = client.post("/signout", data={"csrf": token})
    assert response.headers["location"] == "/signin?signed_out=1"
    replay = site.client()
    replay.cookies.set("scimhub_session", session_cookie)
    assert replay.get("/").status_code == 303


def test_api_settings_reveals_the_token_only_after_the_current_password(site: Site) -> None:
    client = site.client()
    sign_in(client)
    page = client.get("/settings/api")
    assert page.headers["cache-control"] == "no-store"
    assert 'id="tenant-url"' in page.text and "http://testserver/scim/v2" in page.text
    assert 'id="api-token"' not in page.text and site.tokens["acme"] not in page.text
    assert "Who can see this token" in page.text and "admin@acme.example" in page.text
    wrong = client.post("/settings/api/reveal", data={"password": "nope",
                                                      "csrf": csrf_of(page.text)})
    assert "The current password is not correct." in wrong.text
    assert site.tokens["acme"] not in wrong.text
    right = client.post("/settings/api/reveal", data={"password": PASSWORD,
                                                      "csrf": csrf_of(page.text)})
    assert right.headers["cache-control"] == "no-store"
    assert f'id="api-token" class="secret" aria-labelledby="token-label">{site.tokens["acme"]}<' \
        in right.text
    assert site.tokens["acme"] not in client.get("/settings/api").text


def test_reset_api_token_revokes_the_old_token_at_once(site: Site) -> None:
    client = site.client()
    sign_in(client)
    form = client.get("/settings/api/reset")
    assert "stops working" in form.text
    response = client.post("/settings/api/reset", data={"password": PASSWORD,
                                                        "csrf": csrf_of(form.text)})
    assert response.status_code == 200
    tenant = site.ctx.tenants.by_name("acme").id
    new_token = site.ctx.tenants.reveal_token(tenant)
    assert new_token is not None and new_token in response.text
    assert site.ctx.tenants.authenticate(site.tokens["acme"]) is None
    assert site.ctx.tenants.authenticate(new_token) == tenant


def test_reset_needs_the_current_password(site: Site) -> None:
    client = site.client()
    sign_in(client)
    form = client.get("/settings/api/reset")
    response = client.post("/settings/api/reset", data={"password": "wrong",
                                                        "csrf": csrf_of(form.text)})
    assert "The current password is not correct." in response.text
    assert site.ctx.tenants.authenticate(site.tokens["acme"]) is not None


def test_admins_see_only_their_own_tenant(site: Site) -> None:
    mine = _user(site, "acme", "mine@acme.example")
    theirs = _user(site, "globex", "theirs@globex.example")
    group = _scim(site, "globex", "POST", "/Groups", {"schemas": [CORE_GROUP],
                                                      "displayName": "Globex staff"})
    client = site.client()
    sign_in(client, "acme")
    users = client.get("/users").text
    assert "mine@acme.example" in users and "theirs@globex.example" not in users
    assert client.get(f"/users/{mine['id']}").status_code == 200
    assert client.get(f"/users/{theirs['id']}").status_code == 404
    assert client.get(f"/groups/{group['id']}").status_code == 404
    assert client.get(f"/activity?resource={theirs['id']}").text.count("theirs") == 0
    assert "Globex staff" not in client.get("/groups").text


def test_search_takes_plain_text_or_a_scim_filter(site: Site) -> None:
    _user(site, "acme", "ada@acme.example", displayName="Ada Lovelace")
    _user(site, "acme", "alan@acme.example", displayName="Alan Turing")
    client = site.client()
    sign_in(client)
    text = client.get("/users", params={"q": "lovelace"}).text
    assert "ada@acme.example" in text and "alan@acme.example" not in text
    text = client.get("/users", params={"q": 'userName sw "alan"'}).text
    assert "alan@acme.example" in text and "ada@acme.example" not in text
    assert "SCIM filter" in text
    text = client.get("/users", params={"q": "nosuch pr"}).text
    assert "Unknown attribute" in text


def test_group_members_are_paged(site: Site) -> None:
    ids = [_user(site, "acme", f"member{i:02}@acme.example")["id"] for i in range(60)]
    group = _scim(site, "acme", "POST", "/Groups", {
        "schemas": [CORE_GROUP], "displayName": "Big", "members": [{"value": i} for i in ids]})
    client = site.client()
    sign_in(client)
    first = client.get(f"/groups/{group['id']}").text
    assert "Showing 1\u201350 of 60" in first and '"members"' not in first
    second = client.get(f"/groups/{group['id']}?page=2").text
    assert "Showing 51\u201360 of 60" in second


def test_activity_shows_scim_writes_and_filters_them(site: Site) -> None:
    user = _user(site, "acme", "logged@acme.example")
    _scim(site, "acme", "POST", "/Groups", {"schemas": [CORE_GROUP], "displayName": "Logged"})
    client = site.client()
    sign_in(client)
    text = client.get("/activity").text
    assert user["id"] in text and "201 Created" in text
    assert user["id"] not in client.get("/activity", params={"type": "Group"}).text
    assert user["id"] in client.get("/activity", params={"resource": user["id"]}).text
    assert user["id"] not in client.get("/activity", params={"from": "2999-01-01T00:00"}).text
    assert "must be dates" in client.get("/activity", params={"from": "soon"}).text


def test_every_page_is_uncached_and_locked_down(site: Site) -> None:
    client = site.client()
    sign_in(client)
    for path in ("/", "/users", "/groups", "/activity", "/provisioning", "/settings/api",
                 "/settings/api/reset"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"


def test_provisioning_says_no_jobs_until_a_source_reports_some(site: Site) -> None:
    client = site.client()
    sign_in(client)
    assert "No provisioning jobs are configured" in client.get("/provisioning").text

    class OneJob:
        def jobs(self, tenant: TenantId) -> list[JobSummary]:
            return [JobSummary("HR to scimhub", "hr.csv", "https://x/scim/v2", "every 40 min",
                               "running")]

    app = Starlette(routes=console_routes(site.ctx, OneJob()))
    with_jobs = TestClient(app, follow_redirects=False)
    sign_in(with_jobs)
    text = with_jobs.get("/provisioning").text
    assert "HR to scimhub" in text and "No provisioning jobs" not in text


def test_scim_and_health_are_unchanged(site: Site) -> None:
    client = site.client()
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/scim/v2/Users").status_code == 401
    bearer = {"Authorization": f"Bearer {site.tokens['acme']}"}
    assert client.get("/scim/v2/Users", headers=bearer).status_code == 200
    assert client.get("/assets/console.css").status_code == 200
