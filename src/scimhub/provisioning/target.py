"""The engine's side of the wire: SCIM requests to any target over HTTP.

The engine decides what to send; this module only carries it, with keep-alive, bounded
concurrency and retries (``retry.py`` decides how long to wait), and turns every HTTP outcome
into the exception tree of ``errors.py`` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import orjson

from scimhub import __version__
from scimhub.provisioning.errors import (
    Conflict,
    CredentialsRejected,
    DuplicateTargetEntries,
    Rejected,
    ServiceIncompatible,
    TargetError,
    Throttled,
    Transient,
    Unreachable,
)
from scimhub.provisioning.retry import RetryPolicy, parse_retry_after

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"
KINDS = ("Users", "Groups")
DISCOVERY = ("ServiceProviderConfig", "Schemas", "ResourceTypes")
DEFAULT_POLICY = RetryPolicy()

#: Called after every attempt with the method, the full URL, the status the target answered
#: (or the error when it did not answer), the attempt number (1 for the first try) and seconds.
AttemptHook = Callable[[str, str, int | TargetError, int, float], None]

_REJECTED_CODES = {404: "NotFound", 405: "MethodNotAllowed", 501: "NotImplemented"}
_TIMEOUTS = {httpx.ConnectTimeout: "could not connect", httpx.ReadTimeout: "no answer",
             httpx.WriteTimeout: "could not send the request",
             httpx.PoolTimeout: "no free connection"}


def match_filter(attribute: str, value: str) -> str:
    """``attribute eq "value"``, the value a JSON string (RFC 7644 §3.4.2.2)."""
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{attribute} eq "{quoted}"'


class ScimTarget:
    """One target (Tenant URL + Secret Token); an async context manager that owns the client.

    ``requests`` counts attempts sent (retries included), ``retries`` the attempts repeated,
    ``throttled`` the 429 answers.
    """

    def __init__(self, base_url: str, token: str, *, concurrency: int = 8,
                 timeout: float = 30.0, policy: RetryPolicy = DEFAULT_POLICY,
                 transport: httpx.AsyncBaseTransport | None = None,
                 on_attempt: AttemptHook | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency,
                                max_keepalive_connections=concurrency),
            headers={"Authorization": f"Bearer {token}", "Accept": SCIM_JSON,
                     "User-Agent": f"scimhub/{__version__}"})
        self.timeout = timeout
        self.policy = policy
        self.on_attempt = on_attempt
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.clock = clock
        self.requests = 0
        self.retries = 0
        self.throttled = 0
        self._gate = asyncio.Semaphore(concurrency)
        self._resume_at = 0.0  # a 429 pauses every request to this target until then

    async def __aenter__(self) -> ScimTarget:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- SCIM operations ------------------------------------------------------

    async def find(self, kind: str, attribute: str, value: str, *,
                   exclude_members: bool = True) -> dict[str, Any] | None:
        """The one resource whose ``attribute`` equals ``value``, as Entra's match query."""
        query = "filter=" + quote_plus(match_filter(attribute, value))
        if _kind(kind) == "Groups" and exclude_members:
            query = "excludedAttributes=members&" + query
        response = await self._send("GET", f"/{kind}?{query}")
        resources, matches = _listed(response)
        if matches > 1:
            raise DuplicateTargetEntries(
                f"{matches} {kind} match {match_filter(attribute, value)}")
        if matches == 1 and not resources:
            raise ServiceIncompatible(f"{_where(response)}: totalResults is 1 "
                                      "but Resources is empty", response.status_code)
        return _with_id(resources[0], response) if resources else None

    async def get(self, kind: str, rid: str) -> dict[str, Any] | None:
        """The resource, or None when the target has no such id (404)."""
        try:
            response = await self._send("GET", _resource_path(kind, rid))
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise
        return _with_id(_json(response), response)

    async def create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._send("POST", f"/{_kind(kind)}", body)
        _expect(response, 201, 200)
        return _with_id(_json(response), response)

    async def patch(self, kind: str, rid: str, operations: list[dict[str, Any]]) -> None:
        response = await self._send("PATCH", _resource_path(kind, rid),
                                    {"schemas": [PATCH_OP], "Operations": operations})
        _expect(response, 200, 204)

    async def delete(self, kind: str, rid: str) -> bool:
        """True when deleted now, False when the target had no such id (404): already gone."""
        try:
            response = await self._send("DELETE", _resource_path(kind, rid))
        except Rejected as exc:
            if exc.status == 404:
                return False
            raise
        _expect(response, 204, 200)
        return True

    async def discover(self, endpoint: str) -> dict[str, Any]:
        """``GET /ServiceProviderConfig``, ``/Schemas`` or ``/ResourceTypes``."""
        if endpoint not in DISCOVERY:
            raise ValueError(f"not a discovery endpoint: {endpoint!r}")
        return _json(await self._send("GET", f"/{endpoint}"))

    async def probe(self, kinds: tuple[str, ...] = KINDS) -> None:
        """Entra's Test Connection, also run at the start of every activity (ENTRA.md §1.2):
        a user and a group named by a random GUID must be absent, with 200 and an empty list."""
        for kind in kinds:
            attribute = "userName" if _kind(kind) == "Users" else "displayName"
            try:
                found = await self.find(kind, attribute, str(uuid.uuid4()))
            except Rejected as exc:
                if exc.status != 404:
                    raise
                raise Unreachable("NotFound", f"{exc.detail} (Entra expects 200 with an empty "
                                  "ListResponse and quarantines the job)", 404) from exc
            if found is not None:
                raise ServiceIncompatible(f"a random {attribute} matched {kind} "
                                          f"{found['id']}: the target ignores the filter", 200)

    # -- one request, retried -------------------------------------------------

    async def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        content = orjson.dumps(body) if body is not None else None
        attempt = 1
        while True:
            await self._wait_while_throttled()
            try:
                return await self._attempt(method, path, content, attempt)
            except Transient as error:
                delay = self.policy.delay(attempt, error, self.rng)
                if isinstance(error, Throttled):  # Retry-After is for the client, not a request
                    self._resume_at = max(self._resume_at, self.clock() + delay)
                if attempt == self.policy.max_attempts:
                    raise
                if not isinstance(error, Throttled):
                    await self.sleep(delay)
            self.retries += 1
            attempt += 1

    async def _wait_while_throttled(self) -> None:
        wait = self._resume_at - self.clock()
        if wait > 0:
            await self.sleep(wait)

    async def _attempt(self, method: str, path: str, content: bytes | None,
                       attempt: int) -> httpx.Response:
        headers = {"Content-Type": SCIM_JSON} if content is not None else None
        try:
            request = self.client.build_request(method, path, content=content, headers=headers)
        except httpx.InvalidURL as exc:
            raise Unreachable("WebExceptionProtocolError", f"{method} {path}: {exc}") from exc
        url, where = str(request.url), f"{method} {request.url.raw_path.decode('ascii')}"
        async with self._gate:
            self.requests += 1
            started = self.clock()
            try:
                response = await self.client.send(request)
            except httpx.RequestError as exc:
                error = self._unanswered(where, exc)
                self._report(method, url, error, attempt, started)
                raise error from exc
        self._report(method, url, response.status_code, attempt, started)
        if response.status_code == 429:
            self.throttled += 1
        return _checked(where, response)

    def _report(self, method: str, url: str, outcome: int | TargetError, attempt: int,
                started: float) -> None:
        if self.on_attempt is not None:
            self.on_attempt(method, url, outcome, attempt, self.clock() - started)

    def _unanswered(self, where: str, exc: httpx.RequestError) -> TargetError:
        if isinstance(exc, httpx.TimeoutException):
            what = _TIMEOUTS.get(type(exc), "no answer")
            return Transient("Timeout", f"{where}: {what} within {self.timeout:g} s")
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
            return Unreachable("WebExceptionProtocolError", f"{where}: {exc}")
        return Transient("WebExceptionProtocolError", f"{where}: {_reason(exc)}")


# -- from HTTP to the exception tree ----------------------------------------------


def _checked(where: str, response: httpx.Response) -> httpx.Response:
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail, scim_type = _error_detail(response)
    what = f"{where} -> {status}: {detail}"
    if status < 400:
        location = response.headers.get("location", "elsewhere")
        raise ServiceIncompatible(f"{what} (redirected to {location})", status)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise Throttled(what, retry_after, scim_type)
    if status == 408:
        raise Transient("Timeout", what, status, scim_type)
    if status >= 500 and status != 501:
        raise Transient("InternalServerError", what, status, scim_type)
    if status in (401, 403):
        code = "Unauthorized" if status == 401 else "InsufficientRights"
        raise CredentialsRejected(code, what, status, scim_type)
    if status in (409, 412):
        raise Conflict(what, scim_type, status)
    raise Rejected(_REJECTED_CODES.get(status, "UnprocessableEntity"), what, status, scim_type)


def _error_detail(response: httpx.Response) -> tuple[str, str | None]:
    """A SCIM Error's ``detail`` and ``scimType``, else the start of whatever came back."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:300].strip() or response.reason_phrase, None
    if isinstance(body, dict):
        scim_type = body.get("scimType")
        detail = body.get("detail") or response.reason_phrase
        return str(detail)[:300], scim_type if isinstance(scim_type, str) else None
    return str(body)[:300], None


def _expect(response: httpx.Response, *statuses: int) -> None:
    if response.status_code not in statuses:
        wanted = " or ".join(map(str, statuses))
        raise ServiceIncompatible(f"{_where(response)} -> {response.status_code}, "
                                  f"expected {wanted}", response.status_code)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = response.text[:200].strip() or "an empty body"
        raise ServiceIncompatible(f"{_where(response)} -> {response.status_code} "
                                  f"but not JSON: {text}", response.status_code) from None
    if not isinstance(body, dict):
        raise ServiceIncompatible(f"{_where(response)} -> {response.status_code} "
                                  "but not a JSON object", response.status_code)
    return body


def _listed(response: httpx.Response) -> tuple[list[Any], int]:
    """A ListResponse's ``Resources`` and how many matched (``totalResults`` may say more)."""
    listing = _json(response)
    resources = listing.get("Resources", [])
    if not isinstance(resources, list):
        raise ServiceIncompatible(f"{_where(response)}: Resources is not a list",
                                  response.status_code)
    total = listing.get("totalResults")
    return resources, max(len(resources), total if isinstance(total, int) else 0)


def _with_id(resource: Any, response: httpx.Response) -> dict[str, Any]:
    if not isinstance(resource, dict) or not resource.get("id"):
        raise ServiceIncompatible(f"{_where(response)} -> {response.status_code}: "
                                  "a resource without an id", response.status_code)
    return resource


def _where(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.raw_path.decode('ascii')}"


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be Users or Groups, not {kind!r}")
    return kind


def _resource_path(kind: str, rid: str) -> str:
    return f"/{_kind(kind)}/{quote(rid, safe='')}"


def _reason(exc: BaseException) -> str:
    """What the operating system said, found under httpx's and httpcore's wrappers."""
    cause: BaseException | None = exc
    for _ in range(10):
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (nothing listens at that host and port)"
        if isinstance(cause, socket.gaierror):
            return f"the host name does not resolve ({cause.strerror})"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"the TLS certificate was not accepted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed ({cause.reason})"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


__all__ = ["DEFAULT_POLICY", "AttemptHook", "ScimTarget", "match_filter"]
