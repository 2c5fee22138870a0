"""Console inputs that were 500s: each is a 4xx page (or a refused sign-in), on both databases."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.console.conftest import Site, csrf_of, sign_in


def _signed_in(site: Site) -> TestClient:
    client = site.client()
    sign_in(client)
    return client


def _user_id(client: TestClient, site: Site) -> str:
    created = client.post("/scim/v2/Users", json={"userName": "page-target"},
                          headers={"Authorization": f"Bearer {site.tokens['acme']}"})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


BAD_PAGES = ["%C2%B2", "9" * 5000, "0", "-1", "%D9%A1", "1_0", "1.5", "abc", "1000001"]


def test_a_page_number_that_is_not_one_is_a_400_page(site: Site) -> None:
    """Was a 500: ``"²".isdigit()`` is true and int() refuses it; 5,000 nines overflowed."""
    client = _signed_in(site)
    uid = _user_id(client, site)
    for page in BAD_PAGES:
        for path in ("/users", "/groups", "/activity", f"/users/{uid}"):
            response = client.get(f"{path}?page={page}")
            assert response.status_code == 400, (path, page, response.status_code)
            assert "page number must be a whole number" in response.text
            assert response.headers["content-type"].startswith("text/html")
    for url in ("/users?page=1", "/users?page=", "/users", "/activity?page=1000000",
                "/groups?page=%2B2", f"/users/{uid}?page=2"):
        assert client.get(url).status_code == 200, url


def test_the_last_minute_of_year_9999_is_a_form_error_not_a_500(site: Site) -> None:
    """Was OverflowError: an end time includes its whole minute, past datetime's range."""
    client = _signed_in(site)
    response = client.get("/activity", params={"to": "9999-12-31T23:59"})
    assert response.status_code == 200
    assert "From and To must be dates and times" in response.text
    assert client.get("/activity", params={"from": "9999-12-31T23:59"}).status_code == 200


NUL_URLS = ["/users?q=%00", "/groups?q=a%00", "/users/%00", "/groups/x%00y",
            "/activity?resource=%00", "/activity?type=%00", "/users?sort=%00"]


def test_nul_in_a_console_address_is_a_400_page(site: Site) -> None:
    """Was a 500 on PostgreSQL, which cannot compare text with NUL."""
    client = _signed_in(site)
    for url in NUL_URLS:
        response = client.get(url)
        assert response.status_code == 400, url
        assert "U+0000" in response.text


def test_nul_in_the_sign_in_form_is_refused_without_signing_in(site: Site) -> None:
    """Was a 500 on PostgreSQL for anyone, signed in or not, with a valid CSRF token."""
    client = site.client()
    token = csrf_of(client.get("/signin").text)
    for email, password in (("pa\x00@a.example", "x"), ("admin@acme.example", "p\x00w")):
        response = client.post("/signin", data={"email": email, "password": password,
                                                "csrf": token})
        assert response.status_code == 400, response.text
        assert "scimhub_session" not in response.headers.get("set-cookie", "")
    # The form still works afterwards, and NUL never counted as a failed sign-in.
    sign_in(client)


def test_nul_in_a_signed_in_form_is_refused(site: Site) -> None:
    client = _signed_in(site)
    token = csrf_of(client.get("/settings/api").text)
    response = client.post("/settings/api/reveal", data={"password": "\x00", "csrf": token})
    assert response.status_code == 400
    assert site.tokens["acme"] not in response.text


def test_an_overlong_sign_in_email_is_a_wrong_password_not_a_500(site: Site) -> None:
    """Found by probing the fuzzer's forms: on PostgreSQL the failed sign-in could not be
    recorded (the e-mail column holds 320 characters) and the sign-in answered 500."""
    client = site.client()
    token = csrf_of(client.get("/signin").text)
    for length in (321, 60_000):
        response = client.post("/signin", data={"email": "a" * length, "password": "x",
                                                "csrf": token})
        assert response.status_code == 200
        assert "Wrong e-mail or password." in response.text
    sign_in(client)
