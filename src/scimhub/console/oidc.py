"""OpenID Connect, the relying party's side: discovery, the authorization request with
PKCE, the code exchanged for tokens, and the ID token checked before anyone is believed.

The JOSE work (JWKS, signature, claims) is joserfc's, the Authlib project's JOSE library:
Authlib 1.9 deprecates its own ``authlib.jose`` in its favour, and it is typed. The rest is
a handful of HTTP calls made here with httpx rather than through Authlib's OAuth clients,
which keep the flow's state in a cookie session; scimhub keeps it server-side.

Everything learned from a provider is cached per process for an hour: discovery per
issuer, keys per ``jwks_uri`` (fetched again at once when a token names a key the cache
lacks, which is how a provider's key rotation shows).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
import orjson
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

#: A provider's answers are small: anything larger is not one.
MAX_RESPONSE_BYTES = 512 * 1024
TIMEOUT_SECONDS = 10.0
CACHE_SECONDS = 3600
#: Clock difference tolerated between scimhub and the provider (exp, iat).
LEEWAY_SECONDS = 60
#: Asymmetric signatures only: never ``none``, never HS* (keyed with the client secret).
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                      "ES256", "ES384", "ES512", "EdDSA")
SCOPE = "openid email profile"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class OidcError(Exception):
    """A step of the sign-in failed; the message is for the admin's eyes (never a token)."""


@dataclass(frozen=True)
class Provider:
    """What discovery said, checked: the issuer as configured, and its endpoints."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: ``email`` only when the provider vouches for it."""

    subject: str
    email: str | None
    #: Why ``email`` is None, for the refusal page.
    email_problem: str | None


def check_issuer(value: str) -> str:
    """An issuer as the settings form accepts it: an https URL without query or fragment
    (http only for a provider on this machine, as in tests). Returned as given: discovery
    must then name exactly this issuer."""
    issuer = value.strip()
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OidcError("The issuer must be an https:// URL, such as "
                        "https://login.microsoftonline.com/<tenant id>/v2.0.")
    if parts.query or parts.fragment:
        raise OidcError("The issuer must not have a query or a fragment.")
    _check_secure(issuer, "The issuer")
    return issuer


def _check_secure(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return
    raise OidcError(f"{what} is not an https:// URL ({url[:200]}): scimhub talks to an "
                    "identity provider over https only (http only on this machine).")


def code_challenge(verifier: str) -> str:
    """RFC 7636 S256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verified_email(claims: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The e-mail the provider vouches for, else None and why.

    Accepted: ``email`` with ``email_verified`` true (the OpenID standard claim). Entra ID
    sends no ``email_verified``; for it, its optional claim ``xms_edov`` ("email domain
    owner verified") true is accepted instead, when ``email_verified`` is absent. An
    ``email_verified`` false is refused whatever else the token says.
    """
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None, ("The identity provider sent no e-mail address: add the email claim "
                      "to the ID token (scope email).")
    verified = claims.get("email_verified")
    if verified is None:
        verified = claims.get("xms_edov")
    if verified is True or verified == "true":
        return email.strip(), None
    return None, (f"The identity provider did not say that the e-mail address {email[:320]} "
                  "is verified (email_verified, or Entra ID's xms_edov, must be true).")


class OidcClient:
    """One per process: its caches are what it shares between sign-ins."""

    def __init__(self, *, timeout: float = TIMEOUT_SECONDS,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self._providers: dict[str, tuple[float, Provider]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        # A client per call: requests of the console may run on different event loops.
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcError(f"The identity provider did not answer at {url[:200]} "
                            f"({type(exc).__name__}).") from exc
        return _json_of(response, what)

    async def discover(self, issuer: str, *, fresh: bool = False) -> Provider:
        """The provider at ``issuer``, from ``<issuer>/.well-known/openid-configuration``."""
        cached = self._providers.get(issuer)
        if cached is not None and not fresh and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        check_issuer(issuer)
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        doc = await self._get_json(url, "Its OpenID configuration")
        if doc.get("issuer") != issuer:
            raise OidcError(f"The OpenID configuration at {url[:200]} names the issuer "
                            f"{str(doc.get('issuer'))[:200]!r}, not {issuer[:200]!r}: give "
                            "the issuer exactly as the provider names it.")
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str) or not value:
                raise OidcError(f"The OpenID configuration at {url[:200]} has no {name}: "
                                "this is not an OpenID Connect provider.")
            _check_secure(value, f"Its {name}")
            endpoints[name] = value
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in offered if a in SIGNING_ALGORITHMS)
        if not algorithms:
            raise OidcError("The provider signs ID tokens only with algorithms scimhub does "
                            f"not accept ({', '.join(map(str, offered))[:200]}).")
        provider = Provider(issuer, endpoints["authorization_endpoint"],
                            endpoints["token_endpoint"], endpoints["jwks_uri"],
                            tuple(str(m) for m in methods), algorithms)
        self._providers[issuer] = (time.monotonic(), provider)
        return provider

    @staticmethod
    def authorization_url(provider: Provider, *, client_id: str, redirect_uri: str,
                          state: str, nonce: str, code_verifier: str) -> str:
        query = urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
            "scope": SCOPE, "state": state, "nonce": nonce,
            "code_challenge": code_challenge(code_verifier), "code_challenge_method": "S256",
        })
        separator = "&" if "?" in provider.authorization_endpoint else "?"
        return f"{provider.authorization_endpoint}{separator}{query}"

    async def exchange(self, provider: Provider, *, client_id: str, client_secret: str,
                       code: str, redirect_uri: str, code_verifier: str) -> str:
        """The ID token the token endpoint gives for ``code``, authenticating the client
        as discovery says it prefers (``client_secret_basic`` unless only ``_post``)."""
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "code_verifier": code_verifier}
        auth: httpx.Auth = httpx.Auth()  # none: the secret goes in the form
        if ("client_secret_basic" not in provider.token_auth_methods
                and "client_secret_post" in provider.token_auth_methods):
            form |= {"client_id": client_id, "client_secret": client_secret}
        else:  # RFC 6749 §2.3.1: each part form-encoded before Basic
            auth = httpx.BasicAuth(quote_plus(client_id), quote_plus(client_secret))
            form["client_id"] = client_id
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(provider.token_endpoint, data=form, auth=auth,
                                             headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcError("The identity provider's token endpoint did not answer "
                            f"({type(exc).__name__}).") from exc
        body = _json_of(response, "Its token endpoint", errors_ok=True)
        if response.status_code != 200 or "error" in body:
            error = str(body.get("error", response.status_code))[:100]
            description = str(body.get("error_description", ""))[:300]
            raise OidcError("The identity provider refused to exchange the sign-in code "
                            f"({error}{': ' + description if description else ''}). A code "
                            "is good for one sign-in only.")
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise OidcError("The identity provider's token response has no ID token.")
        return id_token

    async def _key_set(self, provider: Provider, *, fresh: bool) -> KeySet:
        cached = self._keys.get(provider.jwks_uri)
        if cached is not None and not fresh and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        doc = await self._get_json(provider.jwks_uri, "Its key set")
        try:
            keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise OidcError("The identity provider's key set (jwks_uri) does not parse.") from exc
        self._keys[provider.jwks_uri] = (time.monotonic(), keys)
        return keys

    async def identity(self, provider: Provider, id_token: str, *, client_id: str,
                       nonce: str) -> Identity:
        """The ID token's subject and verified e-mail, once its signature (against the
        provider's JWKS) and its iss, aud, azp, exp, iat and nonce are checked."""
        kid = _kid(id_token)
        keys = await self._key_set(provider, fresh=False)
        if kid is not None and not any(k.kid == kid for k in keys.keys):
            keys = await self._key_set(provider, fresh=True)  # rotated since cached
        try:
            token = jwt.decode(id_token, keys, algorithms=list(provider.algorithms))
        except BadSignatureError as exc:
            raise OidcError("The ID token's signature does not verify against the identity "
                            "provider's published keys: it was not signed by that provider."
                            ) from exc
        except (JoseError, ValueError) as exc:
            raise OidcError(f"The ID token is not a valid signed token ({exc})."[:300]) from exc
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(f"The ID token's claims do not check out ({exc}).") from exc
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
            raise OidcError("The ID token names several audiences but not scimhub as its "
                            "authorized party (azp).")
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or iat > time.time() + LEEWAY_SECONDS:
            raise OidcError("The ID token was issued in the future (iat).")
        email, problem = verified_email(claims)
        return Identity(str(claims["sub"]), email, problem)


def _kid(id_token: str) -> str | None:
    """The ``kid`` of a token's header, read before any key is chosen."""
    head = id_token.split(".", 1)[0]
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    kid = decoded.get("kid") if isinstance(decoded, dict) else None
    return kid if isinstance(kid, str) else None


def _json_of(response: httpx.Response, what: str, *, errors_ok: bool = False
             ) -> dict[str, Any]:
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise OidcError(f"{what} answered with more than {MAX_RESPONSE_BYTES} bytes.")
    if response.status_code != 200 and not errors_ok:
        raise OidcError(f"{what} answered HTTP {response.status_code} at "
                        f"{str(response.url)[:200]}: is this the issuer URL of an OpenID "
                        "Connect provider?")
    try:
        body = response.json()
    except ValueError as exc:
        raise OidcError(f"{what} at {str(response.url)[:200]} is not JSON: is this the "
                        "issuer URL of an OpenID Connect provider?") from exc
    if not isinstance(body, dict):
        raise OidcError(f"{what} at {str(response.url)[:200]} is not a JSON object.")
    return body
