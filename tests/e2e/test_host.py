"""What a real ``scimhub serve`` believes about a request's origin: which Host it answers,
which base URL it writes into responses, and which client address the sign-in throttle
counts. Nothing a client merely claims (Host, X-Forwarded-*) may steer them unless the
operator configured it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from scimhub.server.hosts import BadPublicUrl, HostPolicy, parse_public_url
from tests.e2e.helpers import entra_user_body, unique
from tests.e2e.server import ServerProcess
from tests.support.postgres import temporary_database

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PUBLIC = "https://scim.contoso.example/idm"
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def behind_proxy(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server configured as behind a TLS proxy on this machine: a public URL, and the
    proxy's X-Forwarded-* believed from 127.0.0.1."""
    workdir: Path = tmp_path_factory.mktemp(f"scimhub-proxy-{request.param}")
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(temporary_database())
        else:
            url = f"sqlite:///{workdir}/scimhub.db"
        proc = ServerProcess(database=url, workdir=workdir,
                             args=("--public-url", PUBLIC + "/",
                                   "--forwarded-allow-ips", "127.0.0.1"))
        proc.tenants = {"contoso": proc.create_tenant("contoso")}  # type: ignore[attr-defined]
        proc.start()
        stack.callback(proc.stop)
        yield proc


def _scim(server: ServerProcess, **headers: str) -> httpx.Client:
    token = server.tenants["contoso"]["token"]  # type: ignore[attr-defined]
    return httpx.Client(base_url=server.scim_url, timeout=10, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json",
        **headers})


def test_an_untrusted_host_is_refused_and_nothing_is_written(server: ServerProcess) -> None:
    name = unique()
    with _scim(server, Host="evil.example") as evil:
        response = evil.post("/Users", json=entra_user_body(name))
        assert response.status_code == 400
        body = response.json()
        assert body["schemas"] == [ERROR] and body["status"] == "400"
        assert "evil.example" not in response.text
        assert "evil.example" not in response.headers.get("location", "")
        assert evil.get("/Users").status_code == 400
    console = httpx.get(f"{server.url}/signin", headers={"Host": "evil.example:80"})
    assert console.status_code == 400 and "evil.example" not in console.text
    with _scim(server) as scim:
        found = scim.get("/Users", params={"filter": f'userName eq "{name}"'}).json()
        assert found["totalResults"] == 0


def test_location_ignores_forwarded_headers_nobody_configured(server: ServerProcess) -> None:
    with _scim(server, **{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
                          "Forwarded": "host=evil.example;proto=https"}) as scim:
        response = scim.post("/Users", json=entra_user_body(unique()))
    assert response.status_code == 201, response.text
    created = response.json()
    expected = f"{server.scim_url}/Users/{created['id']}"
    assert response.headers["location"] == expected
    assert created["meta"]["location"] == expected


def test_health_answers_any_host(server: ServerProcess) -> None:
    """Load balancers probe by address; the answer reflects nothing."""
    response = httpx.get(f"{server.url}/healthz", headers={"Host": "10.1.2.3:8000"})
    assert response.status_code == 200


def test_the_throttle_counts_the_peer_not_a_claimed_forwarded_for(server: ServerProcess) -> None:
    """Without --forwarded-allow-ips, a new X-Forwarded-For on every guess buys nothing."""
    statuses = []
    for n in range(5):
        statuses.append(_sign_in(server.url, "nobody@contoso.example", "guess",
                                 {"X-Forwarded-For": f"192.0.2.{n + 1}"})[0].status_code)
    assert statuses == [200, 200, 200, 200, 429]


def test_public_url_makes_every_absolute_url(behind_proxy: ServerProcess) -> None:
    with _scim(behind_proxy) as scim:
        response = scim.post("/Users", json=entra_user_body(unique()))
        assert response.status_code == 201, response.text
        created = response.json()
        expected = f"{PUBLIC}/scim/v2/Users/{created['id']}"
        assert response.headers["location"] == expected
        assert created["meta"]["location"] == expected
        config = scim.get("/ServiceProviderConfig").json()
        assert config["meta"]["location"] == f"{PUBLIC}/scim/v2/ServiceProviderConfig"
    with _scim(behind_proxy, Host="scim.contoso.example") as proxied:
        assert proxied.get(f"/Users/{created['id']}").json()["meta"]["location"] == expected
    with _scim(behind_proxy, Host="evil.example") as evil:
        assert evil.get(f"/Users/{created['id']}").status_code == 400


def test_console_shows_the_public_tenant_url_with_secure_cookies(
        behind_proxy: ServerProcess) -> None:
    """TLS ends at the proxy: an https public URL makes the cookies Secure, though this
    server is reached over plain HTTP."""
    response, cookies = _sign_in(behind_proxy.url, "admin@contoso.example", PASSWORD)
    assert response.status_code == 303, response.text
    session = [c for c in response.headers.get_list("set-cookie")
               if c.startswith("scimhub_session=")]
    assert session and "secure" in session[0].lower()
    page = httpx.get(f"{behind_proxy.url}/settings/api", headers=_cookie(cookies))
    assert page.status_code == 200
    assert f"{PUBLIC}/scim/v2" in page.text


def test_a_configured_proxy_gives_the_throttle_the_real_client(
        behind_proxy: ServerProcess) -> None:
    """From a proxy listed in --forwarded-allow-ips, X-Forwarded-For is the client: a lock
    on one client leaves another free."""
    attacker = {"X-Forwarded-For": "198.51.100.9"}
    statuses = [_sign_in(behind_proxy.url, "admin@contoso.example", "guess", attacker)[0]
                .status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    desk = {"X-Forwarded-For": "203.0.113.7"}
    assert _sign_in(behind_proxy.url, "admin@contoso.example", PASSWORD,
                    desk)[0].status_code == 303


def test_a_public_url_that_is_not_one_is_refused_at_start(tmp_path: Path) -> None:
    for bad in ("scim.contoso.example", "ftp://scim.contoso.example",
                "https://scim.contoso.example/scim/v2"):
        result = subprocess.run(
            [sys.executable, "-m", "scimhub", "serve", "--public-url", bad,
             "--database", f"sqlite:///{tmp_path}/never.db"],
            capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 2, result.stderr
        assert "--public-url" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "never.db").exists()


def test_which_host_headers_a_policy_trusts() -> None:
    policy = HostPolicy.build(public_url="https://SCIM.contoso.example:8443/idm/",
                              bind_host="10.0.0.5", trusted=["Alt.Contoso.example", " "])
    assert policy.public_url == "https://SCIM.contoso.example:8443/idm"
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "10.0.0.5:8000",
                 "scim.contoso.example:8443", "alt.contoso.example", None):
        assert policy.allows(host), host
    for host in ("evil.example", "evil.example:8000", "[::2]:80", "localhost.evil.example",
                 "scim.contoso.example.evil.example", "", "a:b:c"):
        assert not policy.allows(host), host
    assert HostPolicy.from_environment(policy.to_environment()) == HostPolicy.build(
        public_url=policy.public_url, trusted=policy.trusted)
    with pytest.raises(BadPublicUrl):
        parse_public_url("https://scim.contoso.example/scim/v2/")


def _sign_in(base: str, email: str, password: str,
             headers: dict[str, str] | None = None) -> tuple[httpx.Response, dict[str, str]]:
    """The sign-in form as a browser posts it. Cookies are carried by hand: a Secure cookie
    must still reach a server that the test reaches over plain HTTP."""
    form = httpx.get(f"{base}/signin", headers=headers)
    assert form.status_code == 200, form.text
    cookies = _cookies(form)
    token = _CSRF.search(form.text)
    assert token is not None
    response = httpx.post(f"{base}/signin", headers={**(headers or {}), **_cookie(cookies)},
                          data={"email": email, "password": password, "csrf": token.group(1)})
    return response, {**cookies, **_cookies(response)}


def _cookie(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def _cookies(response: httpx.Response) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items() if morsel.value}
