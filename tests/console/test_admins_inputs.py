"""Whatever is posted to the Admins, Your account and invitation forms, the answer is a page
with a message, never a 500 (SQLite and PostgreSQL)."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.console.conftest import Site, csrf_of, sign_in

TEXT = st.one_of(st.text(max_size=40), st.text(max_size=2000), st.sampled_from(
    ["", " ", "a@b", "@", "x@", "\u00e9@\u00e9.example", "a" * 400 + "@x.example", "\x00",
     "admin@globex.example", "%", "../../etc"]))
FORMS = ["/settings/admins/add", "/settings/admins/{junk}/remove",
         "/settings/admins/invitations/{junk}/revoke", "/account/password", "/invite/{junk}"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(where=st.sampled_from(FORMS), junk=st.text(min_size=1, max_size=300),
       form=st.fixed_dictionaries({}, optional={
    "email": TEXT, "method": st.one_of(st.sampled_from(["link", "password"]), TEXT),
    "password": TEXT, "password2": TEXT, "current_password": TEXT, "new_password": TEXT,
    "new_password2": TEXT}))
@example(where="/settings/admins/add", junk="x",
         form={"email": "a" * 400 + "@x.example", "method": "link"})
@example(where="/invite/{junk}", junk="\u00e9" * 200, form={"password": "x"})
def test_admin_forms_never_500(site: Site, where: str, junk: str,
                               form: dict[str, str]) -> None:
    client = site.client()
    sign_in(client)
    path = where.replace("{junk}", quote(junk, safe=""))
    token = csrf_of(client.get("/account").text)
    if where.startswith("/invite/"):
        token = csrf_of(site.client().get("/signin").text)
        client.cookies.set("scimhub_csrf", token)
    response = client.post(path, data={**form, "csrf": token})
    assert response.status_code < 500, (path, form, response.text[:500])
    assert client.get(path if where.startswith("/invite/") else "/account").status_code < 500
