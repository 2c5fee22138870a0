"""A real OpenID Connect provider for tests: ``oidc-provider-mock`` (Authlib's provider side
in a Flask app) served by werkzeug on 127.0.0.1 and a free port, in a thread of the test
process, and stopped when the test is done.

Its authorization page asks for a subject (``sub``) and signs that user in; the claims the
ID token carries are whatever the test put with ``set_user`` (``email``, ``email_verified``,
Entra's ``xms_edov``...). ``keys_swapped`` serves the same provider with its published key
replaced (same ``kid``, another RSA key): every ID token it signs then fails verification,
which is what a token forged by someone without the provider's key looks like.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import oidc_provider_mock
import werkzeug.serving
from joserfc.jwk import RSAKey

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


@dataclass
class Provider:
    """A running provider: its issuer URL and the calls a test makes to it."""

    issuer: str

    def register_client(self, redirect_uri: str,
                        auth_method: str = "client_secret_basic") -> tuple[str, str]:
        """A client as the provider's dynamic registration makes it: (client id, secret).
        Once one is registered, the provider checks the secret and redirect URI."""
        response = httpx.post(f"{self.issuer}/oauth2/clients", json={
            "redirect_uris": [redirect_uri], "token_endpoint_auth_method": auth_method})
        response.raise_for_status()
        body = response.json()
        return str(body["client_id"]), str(body["client_secret"])

    def set_user(self, sub: str, claims: dict[str, object]) -> None:
        httpx.put(f"{self.issuer}/users/{sub}", json=claims).raise_for_status()


def _keys_swapped(app: WsgiApp) -> WsgiApp:
    """The provider, except that ``/jwks`` publishes another key under the same kid."""
    impostor = RSAKey.generate_key(2048).as_dict(private=False)

    def wrapped(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/jwks":
            return app(environ, start_response)
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"] = status

        original = json.loads(b"".join(app(environ, keep)))
        keys = [{**key, "n": impostor["n"], "e": impostor["e"]} for key in original["keys"]]
        body = json.dumps({"keys": keys}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


@contextmanager
def running_provider(*, keys_swapped: bool = False) -> Iterator[Provider]:
    """A provider on 127.0.0.1 and a free port; its issuer is ``http://127.0.0.1:<port>``.

    Nonces are required (an authorization request without one is refused), and clients
    must be registered (so the client secret is checked at the token endpoint)."""
    app: WsgiApp = oidc_provider_mock.app(require_client_registration=True,
                                          require_nonce=True)
    if keys_swapped:
        app = _keys_swapped(app)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
