"""Admins, invitations, Your account and the console events they leave, in-process on SQLite
and PostgreSQL (tests/console/conftest.py's ``site``: tenants acme and globex)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from scimhub.store.admins import list_admins
from scimhub.store.console_tables import console_events
from scimhub.store.events import ConsoleEvents
from tests.console.conftest import PASSWORD, Site, csrf_of, sign_in

NEW_PASSWORD = "a new and long password"
_LINK = re.compile(r'id="invite-link" class="secret">(http://testserver/invite/([^<]+))<')


def _events(site: Site, tenant: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """(action, actor, client, detail) of the tenant's console events, oldest first."""
    tenant_id = site.ctx.tenants.by_name(tenant).id
    events, _ = ConsoleEvents(site.ctx.db).page(tenant_id, limit=500)
    return [(e.action, e.actor, e.client, e.detail) for e in reversed(events)]


def _admin_id(site: Site, tenant: str, email: str) -> str:
    tenant_id = site.ctx.tenants.by_name(tenant).id
    return next(a.id for a in list_admins(site.ctx.db, tenant_id) if a.email == email)


def _signed_in(site: Site, tenant: str = "acme", email: str | None = None,
               password: str = PASSWORD) -> TestClient:
    client = site.client()
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"email": email or f"admin@{tenant}.example",
                                            "password": password, "csrf": token})
    assert response.status_code == 303, response.text
    return client


def _post(client: TestClient, page: str, action: str, **data: str) -> httpx.Response:
    return client.post(action, data={**data, "csrf": csrf_of(client.get(page).text)})


def _invite(client: TestClient, email: str) -> tuple[str, str]:
    response = client.post("/settings/admins/add", data={
        "email": email, "method": "link", "csrf": csrf_of(client.get("/settings/admins").text)})
    assert response.status_code == 200, response.text
    found = _LINK.search(response.text)
    assert found, response.text
    return found.group(1), found.group(2)


def test_invited_admin_chooses_a_password_once_and_signs_in(site: Site) -> None:
    admin = _signed_in(site)
    link, secret = _invite(admin, "New@Acme.example")
    assert "new@acme.example" in admin.get("/settings/admins").text  # pending
    assert secret not in admin.get("/settings/admins").text  # shown once only

    guest = site.client()
    page = guest.get(f"/invite/{secret}")
    assert page.status_code == 200 and "new@acme.example" in page.text and "acme" in page.text
    token = csrf_of(page.text)
    assert guest.post(f"/invite/{secret}", data={"password": NEW_PASSWORD,
                                                 "password2": NEW_PASSWORD,
                                                 "csrf": "forged"}).status_code == 403
    short = guest.post(f"/invite/{secret}", data={"password": "short", "password2": "short",
                                                  "csrf": token})
    assert short.status_code == 400 and "at least 12 characters" in short.text
    differ = guest.post(f"/invite/{secret}", data={"password": NEW_PASSWORD,
                                                   "password2": NEW_PASSWORD + "x",
                                                   "csrf": token})
    assert differ.status_code == 400 and "not the same" in differ.text
    done = guest.post(f"/invite/{secret}", data={"password": NEW_PASSWORD,
                                                 "password2": NEW_PASSWORD, "csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/signin?welcome=1"
    assert "Your admin account is ready" in guest.get("/signin?welcome=1").text

    again = site.client().get(f"/invite/{secret}")
    assert again.status_code == 404 and "does not work" in again.text
    _signed_in(site, email="new@acme.example", password=NEW_PASSWORD)
    events = _events(site, "acme")
    assert ("admin_invited", "admin@acme.example", "testclient",
            "invited new@acme.example; the link is valid for 72 hours") in events
    assert ("admin_added", "new@acme.example", "testclient", "accepted an invitation") in events
    assert not any(secret in repr(e) for e in events)
    assert link.startswith("http://testserver/invite/")


def test_a_bad_invitation_link_is_a_clear_page(site: Site) -> None:
    client = site.client()
    for secret in ("unknown", "x" * 5000, "%00"):
        response = client.get(f"/invite/{secret}")
        assert response.status_code in (400, 404), response.text
        assert "does not work" in response.text or response.status_code == 400
    token = csrf_of(client.get("/signin").text)
    response = client.post("/invite/unknown", data={"password": NEW_PASSWORD,
                                                    "password2": NEW_PASSWORD, "csrf": token})
    assert response.status_code == 404 and "does not work" in response.text


def test_an_email_that_is_an_admin_anywhere_is_refused(site: Site) -> None:
    admin = _signed_in(site)
    for method in ("link", "password"):
        response = _post(admin, "/settings/admins", "/settings/admins/add",
                         email="Admin@Globex.example", method=method, password=NEW_PASSWORD,
                         password2=NEW_PASSWORD)
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert "is already an admin" in response.text  # type: ignore[attr-defined]
    bad = _post(admin, "/settings/admins", "/settings/admins/add", email="not an address",
                method="link")
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert "e-mail address" in bad.text  # type: ignore[attr-defined]


def test_a_first_password_set_by_the_inviting_admin(site: Site) -> None:
    admin = _signed_in(site)
    short = _post(admin, "/settings/admins", "/settings/admins/add", email="b@acme.example",
                  method="password", password="short", password2="short")
    assert short.status_code == 400  # type: ignore[attr-defined]
    added = _post(admin, "/settings/admins", "/settings/admins/add", email="b@acme.example",
                  method="password", password=NEW_PASSWORD, password2=NEW_PASSWORD)
    assert added.status_code == 200  # type: ignore[attr-defined]
    assert "is an admin of acme now" in added.text  # type: ignore[attr-defined]
    assert NEW_PASSWORD not in added.text  # type: ignore[attr-defined]
    _signed_in(site, email="b@acme.example", password=NEW_PASSWORD)
    assert ("admin_added", "admin@acme.example", "testclient",
            "added b@acme.example with a first password") in _events(site, "acme")


def test_removing_an_admin_ends_their_sessions_at_once(site: Site) -> None:
    admin = _signed_in(site)
    _post(admin, "/settings/admins", "/settings/admins/add", email="b@acme.example",
          method="password", password=NEW_PASSWORD, password2=NEW_PASSWORD)
    other = _signed_in(site, email="b@acme.example", password=NEW_PASSWORD)
    assert other.get("/").status_code == 200
    target = _admin_id(site, "acme", "b@acme.example")
    confirm = admin.get(f"/settings/admins/{target}/remove")
    assert "b@acme.example" in confirm.text
    done = admin.post(f"/settings/admins/{target}/remove", data={"csrf": csrf_of(confirm.text)})
    assert done.status_code == 200 and "is no longer an admin" in done.text
    assert other.get("/").status_code == 303  # signed out
    assert ("admin_removed", "admin@acme.example", "testclient",
            "removed b@acme.example") in _events(site, "acme")


def test_another_tenants_admin_cannot_be_removed(site: Site) -> None:
    admin = _signed_in(site)
    _post(admin, "/settings/admins", "/settings/admins/add", email="b@acme.example",
          method="password", password=NEW_PASSWORD, password2=NEW_PASSWORD)
    theirs = _admin_id(site, "globex", "admin@globex.example")
    assert admin.get(f"/settings/admins/{theirs}/remove").status_code == 404
    response = _post(admin, "/settings/admins", f"/settings/admins/{theirs}/remove")
    assert response.status_code == 404  # type: ignore[attr-defined]
    globex = site.ctx.tenants.by_name("globex").id
    assert [a.email for a in list_admins(site.ctx.db, globex)] == ["admin@globex.example"]


def test_the_last_admin_cannot_be_removed(site: Site) -> None:
    admin = _signed_in(site)
    me = _admin_id(site, "acme", "admin@acme.example")
    assert "The last admin cannot be removed" in admin.get("/settings/admins").text
    response = _post(admin, "/settings/admins", f"/settings/admins/{me}/remove")
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert "The last admin cannot be removed" in response.text  # type: ignore[attr-defined]
    assert admin.get("/").status_code == 200


def test_removing_yourself_signs_you_out(site: Site) -> None:
    admin = _signed_in(site)
    _post(admin, "/settings/admins", "/settings/admins/add", email="b@acme.example",
          method="password", password=NEW_PASSWORD, password2=NEW_PASSWORD)
    me = _admin_id(site, "acme", "admin@acme.example")
    response = _post(admin, "/settings/admins", f"/settings/admins/{me}/remove")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert admin.get("/").status_code == 303
    assert ("admin_removed", "admin@acme.example", "testclient",
            "removed themselves") in _events(site, "acme")


def test_changing_the_password_needs_the_current_one_and_signs_out_the_others(
    site: Site,
) -> None:
    here, there = _signed_in(site), _signed_in(site)
    wrong = _post(here, "/account", "/account/password", current_password="not it",
                  new_password=NEW_PASSWORD, new_password2=NEW_PASSWORD)
    assert "The current password is not correct." in wrong.text  # type: ignore[attr-defined]
    differ = _post(here, "/account", "/account/password", current_password=PASSWORD,
                   new_password=NEW_PASSWORD, new_password2="something else entirely")
    assert differ.status_code == 400  # type: ignore[attr-defined]
    assert "1 more time" in here.get("/account").text
    done = _post(here, "/account", "/account/password", current_password=PASSWORD,
                 new_password=NEW_PASSWORD, new_password2=NEW_PASSWORD)
    assert "Your password was changed; 1 other session signed out." in done.text  # type: ignore[attr-defined]
    assert there.get("/").status_code == 303 and here.get("/").status_code == 200
    _signed_in(site, password=NEW_PASSWORD)
    events = _events(site, "acme")
    assert ("sign_in_failed", "admin@acme.example", "testclient",
            "wrong password on Your account") in events
    assert events[-2][:2] == ("password_changed", "admin@acme.example")


def test_sign_out_other_sessions(site: Site) -> None:
    here, there = _signed_in(site), _signed_in(site)
    theirs = _signed_in(site, "globex")
    done = _post(here, "/account", "/account/sessions")
    assert "1 other session signed out." in done.text  # type: ignore[attr-defined]
    assert there.get("/").status_code == 303
    assert here.get("/").status_code == 200 and theirs.get("/").status_code == 200
    assert _events(site, "acme")[-1][:3] == ("sessions_revoked", "admin@acme.example",
                                             "testclient")


def test_sign_in_events_go_to_the_tenant_of_the_email_tried(site: Site) -> None:
    client = site.client()
    token = csrf_of(client.get("/signin").text)
    for email in ("admin@acme.example", "nobody@nowhere.example"):
        client.post("/signin", data={"email": email, "password": "wrong", "csrf": token})
    sign_in(client)
    client.post("/signout", data={"csrf": csrf_of(client.get("/").text)})
    assert [e[:3] for e in _events(site, "acme")] == [
        ("sign_in_failed", "admin@acme.example", "testclient"),
        ("sign_in", "admin@acme.example", "testclient"),
        ("sign_out", "admin@acme.example", "testclient")]
    assert _events(site, "globex") == []
    with site.ctx.db.read() as tx:  # the unknown e-mail: recorded, under no tenant
        rows = tx.all(select(console_events.c.tenant_id, console_events.c.actor)
                      .where(console_events.c.action == "sign_in_failed"))
    assert sorted(rows, key=str) == sorted([(None, "nobody@nowhere.example"),
                                            (site.ctx.tenants.by_name("acme").id,
                                             "admin@acme.example")], key=str)


def test_a_lockout_is_recorded(site: Site) -> None:
    client = site.client()
    token = csrf_of(client.get("/signin").text)
    for _ in range(5):
        client.post("/signin", data={"email": "admin@globex.example", "password": "guess",
                                     "csrf": token})
    actions = [e[0] for e in _events(site, "globex")]
    assert actions == ["sign_in_failed"] * 5 + ["locked_out"]
    locked = _events(site, "globex")[-1]
    assert locked[3] is not None and "this e-mail from this address" in locked[3]


@pytest.mark.parametrize("action", ["reveal", "reset"])
def test_token_revealed_and_reset_are_on_the_activity_page(site: Site, action: str) -> None:
    client = _signed_in(site)
    page = "/settings/api" if action == "reveal" else "/settings/api/reset"
    response = _post(client, page, f"/settings/api/{action}", password=PASSWORD)
    assert response.status_code == 200  # type: ignore[attr-defined]
    activity = client.get("/activity/console")
    assert activity.status_code == 200
    label = "API token revealed" if action == "reveal" else "API token reset"
    row = re.search(r"<tr>\s*<td[^>]*>[^<]+</td>\s*<td><span[^>]*>" + label
                    + r"</span></td>\s*<td>admin@acme.example</td>\s*<td[^>]*>testclient</td>",
                    activity.text)
    assert row, activity.text
    assert "Signed in" in activity.text
    token = site.ctx.tenants.reveal_token(site.ctx.tenants.by_name("acme").id)
    assert token is not None and token not in activity.text
    assert site.tokens["acme"] not in activity.text
    theirs = _signed_in(site, "globex").get("/activity/console").text
    assert "admin@acme.example" not in theirs and ">API token" not in theirs.split("<table")[-1]


def test_console_activity_filters_and_bad_input(site: Site) -> None:
    client = _signed_in(site)
    _post(client, "/settings/api", "/settings/api/reveal", password=PASSWORD)
    only = client.get("/activity/console?action=token_revealed")
    assert ">API token revealed</span>" in only.text and ">Signed in</span>" not in only.text
    assert client.get("/activity/console?action=bogus").status_code == 200
    assert client.get("/activity/console?page=%C2%B2").status_code == 400
    bad = client.get("/activity/console?from=yesterday")
    assert bad.status_code == 200 and "must be dates and times" in bad.text
    assert 'aria-current="page">Console<' in client.get("/activity/console").text
    assert 'aria-current="page">SCIM writes<' in client.get("/activity").text


def test_withdrawing_an_invitation_is_recorded_and_the_link_stops_working(site: Site) -> None:
    admin = _signed_in(site)
    _link, secret = _invite(admin, "later@acme.example")
    page = admin.get("/settings/admins").text
    found = re.search(r'action="(/settings/admins/invitations/[^"]+/revoke)"', page)
    assert found, page
    response = _post(admin, "/settings/admins", found.group(1))
    assert "The invitation for later@acme.example was withdrawn." in response.text
    assert site.client().get(f"/invite/{secret}").status_code == 404
    assert _events(site, "acme")[-1][:4] == ("invitation_withdrawn", "admin@acme.example",
                                             "testclient", "later@acme.example")
