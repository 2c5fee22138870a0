"""The sign-in throttle through the console's pages: per e-mail and address, per address,
and wrong passwords on API Settings counting like wrong passwords at sign-in."""

from __future__ import annotations

from starlette.testclient import TestClient

from scimhub.web import create_app
from tests.console.conftest import PASSWORD, Site, csrf_of, sign_in

ATTACKER, ADMIN_DESK = "198.51.100.9", "203.0.113.7"


def _from(site: Site, address: str) -> TestClient:
    return TestClient(create_app(site.ctx), client=(address, 40000), follow_redirects=False)


def _try(client: TestClient, email: str, password: str) -> int:
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"email": email, "password": password,
                                            "csrf": token})
    return response.status_code


def test_locking_an_admin_out_from_one_address_leaves_their_own_address_alone(
        site: Site) -> None:
    attacker = _from(site, ATTACKER)
    statuses = [_try(attacker, "admin@acme.example", "guess") for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert _try(attacker, "admin@acme.example", PASSWORD) == 429
    assert _try(_from(site, ADMIN_DESK), "admin@acme.example", PASSWORD) == 303


def test_spraying_from_one_address_locks_that_address_for_every_email(site: Site) -> None:
    attacker = _from(site, ATTACKER)
    statuses = [_try(attacker, f"user{n}@acme.example", "Summer2024!") for n in range(20)]
    assert statuses == [200] * 19 + [429]
    token = csrf_of(attacker.get("/signin").text)
    page = attacker.post("/signin", data={"email": "admin@globex.example",
                                          "password": PASSWORD, "csrf": token})
    assert page.status_code == 429 and "sign-in for this address is locked" in page.text
    assert _try(_from(site, ADMIN_DESK), "admin@globex.example", PASSWORD) == 303


def test_wrong_passwords_on_api_settings_count_toward_the_lockout(site: Site) -> None:
    """Someone at a signed-in admin's unattended browser must not get unlimited guesses at
    the password that reveals the API token."""
    desk = _from(site, ADMIN_DESK)
    sign_in(desk)
    page = desk.get("/settings/api")
    statuses = []
    for _ in range(3):
        response = desk.post("/settings/api/reveal", data={"password": "guess",
                                                           "csrf": csrf_of(page.text)})
        statuses.append(response.status_code)
    for _ in range(2):
        response = desk.post("/settings/api/reset", data={"password": "guess",
                                                          "csrf": csrf_of(page.text)})
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 200, 429]
    assert "Too many wrong passwords" in response.text
    right = desk.post("/settings/api/reveal", data={"password": PASSWORD,
                                                    "csrf": csrf_of(page.text)})
    assert right.status_code == 429 and site.tokens["acme"] not in right.text
    assert _try(_from(site, ADMIN_DESK), "admin@acme.example", PASSWORD) == 429, \
        "the lock from API Settings holds at sign-in too"
    assert site.ctx.tenants.authenticate(site.tokens["acme"]) is not None


def test_a_wrong_password_on_api_settings_counts_with_those_at_sign_in(site: Site) -> None:
    desk = _from(site, ADMIN_DESK)
    for _ in range(4):
        assert _try(desk, "admin@acme.example", "guess") == 200
    sign_in(desk)  # the right password forgets those four
    elsewhere_in_the_office = _from(site, ADMIN_DESK)
    for _ in range(4):
        assert _try(elsewhere_in_the_office, "admin@acme.example", "guess") == 200
    page = desk.get("/settings/api")
    response = desk.post("/settings/api/reveal", data={"password": "guess",
                                                       "csrf": csrf_of(page.text)})
    assert response.status_code == 429
