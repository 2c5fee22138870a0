"""The engine's side of the wire: SCIM requests to any target over HTTP.

The engine decides what to send; this module only carries it, with keep-alive, bounded
concurrency and retries (``retry.py`` decides how long to wait), and turns every HTTP outcome
into the exception tree of ``errors.py`` here and nowhere else.

Reads, PATCH replaces and DELETEs are resent after any transient failure: doing them twice
leaves the target as doing them once. A create and a member add are not: when such a request
left in full and its answer was lost (dropped connection, timeout, 408/5xx possibly from a
gateway after the target did the work), the target may hold the result already, so the client
looks before it writes again (``create_or_find``, ``add_members``), as Entra does. Only failures
that prove the request was not processed (no connection, 429) are resent blindly.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import orjson

from scimhub import __version__
from scimhub.engine.errors import (
    AnswerLost,
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
from scimhub.engine.target.rate import RateCap
from scimhub.engine.target.retry import RetryPolicy, parse_retry_after
from scimhub.engine.target.wire import AiohttpTransport
from scimhub.rates import Rate
from scimhub.scim.types import Document, PatchOperationBody, Resource

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"
KINDS = ("Users", "Groups")
DISCOVERY = ("ServiceProviderConfig", "Schemas", "ResourceTypes")
DEFAULT_POLICY = RetryPolicy()
#: The largest page ``list_attributes`` asks for (a target's own limit lowers it).
LISTING_PAGE = 1000

#: Called after every attempt with the method, the full URL, the status the target answered
#: (or the error when it did not answer), the attempt number (1 for the first try) and seconds.
AttemptHook = Callable[[str, str, int | TargetError, int, float], None]

_REJECTED_CODES = {404: "NotFound", 405: "MethodNotAllowed", 501: "NotImplemented"}
#: Failures that happen before a request leaves: it cannot have been processed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TIMEOUTS = {httpx.ConnectTimeout: "could not connect", httpx.ReadTimeout: "no answer",
             httpx.WriteTimeout: "could not send the request",
             httpx.PoolTimeout: "no free connection"}


def match_filter(attribute: str, value: str) -> str:
    """``attribute eq "value"``, the value a JSON string (RFC 7644 §3.4.2.2)."""
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{attribute} eq "{quoted}"'


@dataclass(frozen=True)
class Created:
    """What a create ended with: the resource, and when it came from a lookup rather than from
    the POST's own answer, why (for the provisioning log)."""

    resource: Resource
    recovered: str | None = None
    found: bool = False  # the resource is a lookup's answer (it may differ from the body)


def identity_of(kind: str, body: Resource) -> list[tuple[str, str]]:
    """What identifies a new resource when the caller names nothing better: ``userName`` (unique
    by RFC 7643 §4.1.1), or a group's ``externalId`` and then ``displayName``."""
    names = ("userName",) if _kind(kind) == "Users" else ("externalId", "displayName")
    return [(n, body[n]) for n in names if isinstance(body.get(n), str) and body[n]]


class ScimTarget:
    """One target (Tenant URL + Secret Token); an async context manager that owns the client.

    ``requests`` counts attempts sent (retries included), ``retries`` the attempts repeated,
    ``throttled`` the 429 answers. ``rate`` (``[target] rate``) caps every attempt, retries
    included, on top of the pause a 429's ``Retry-After`` asks for.
    """

    def __init__(self, base_url: str, token: str, *, concurrency: int = 8,
                 timeout: float = 30.0, policy: RetryPolicy = DEFAULT_POLICY,
                 transport: httpx.AsyncBaseTransport | None = None,
                 on_attempt: AttemptHook | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 verify: ssl.SSLContext | bool = True,
                 rate: Rate | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if transport is None:  # aiohttp's C framing: the engine's CPU per request (wire.py)
            transport = AiohttpTransport(connections=concurrency, verify=verify)
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout, verify=verify,
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
        self.cap = RateCap(rate) if rate is not None else None

    async def __aenter__(self) -> ScimTarget:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- SCIM operations ------------------------------------------------------

    async def find(self, kind: str, attribute: str, value: str, *,
                   exclude_members: bool = True) -> Resource | None:
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

    async def get(self, kind: str, rid: str) -> Resource | None:
        """The resource, or None when the target has no such id (404)."""
        try:
            response = await self._send("GET", _resource_path(kind, rid))
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise
        return _with_id(_json(response), response)

    async def create(self, kind: str, body: Resource) -> Resource:
        """POST, safe to retry: a lost answer is resolved by looking for the body's identity
        (``identity_of``) before sending again; a 409 on the first try is raised."""
        return (await self.create_or_find(kind, body, identity_of(kind, body))).resource

    async def create_or_find(self, kind: str, body: Resource,
                             match: Sequence[tuple[str, str]], *,
                             link_existing: bool = False) -> Created:
        """Create once, whatever the network does (Entra's look-before-you-write).

        When the answer to the POST is lost after it left, the target may have created the
        resource, and a target without uniqueness (a group's ``displayName`` is not unique in
        SCIM) would take a resend as a second one. So the client waits the back-off (a create
        still in flight lands meanwhile), queries ``match`` (attribute, value) in order, and
        returns what it finds; only when nothing matches does it send the POST again. A 409
        after a lost answer is the first POST's own object, found the same way; a 409 on the
        first try is linked too when ``link_existing`` (the cycle's matching already ran, so
        the object appeared since: Entra links it), else raised. With nothing to match by, a
        lost answer is raised rather than resent.
        """
        lost: AnswerLost | None = None
        query = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                response = await self._send("POST", f"/{_kind(kind)}", body, replayable=False)
            except AnswerLost as exc:
                lost = exc
            except Conflict as exc:
                if exc.status != 409 or not (lost or link_existing):
                    raise
                found, query = await self._look_up(kind, match)
                if found is None:
                    raise
                why = "after a lost answer" if lost else "on the first try"
                return Created(found, f"recovered by lookup: 409 {why} ({exc.detail}); "
                                      f"{query} found id {found['id']}, linked", True)
            else:
                _expect(response, 201, 200)
                note = (f"created on try {attempt}: {query} found nothing after a lost answer "
                        f"({lost.code}: {lost.detail})") if lost else None
                return Created(_with_id(_json(response), response), note)
            if not match:
                raise lost
            await self.sleep(self.policy.delay(attempt, lost, self.rng))
            found, query = await self._look_up(kind, match)
            if found is not None:
                return Created(found, f"recovered by lookup: the answer was lost ({lost.code}: "
                                      f"{lost.detail}); {query} found id {found['id']}, linked",
                               True)
            if attempt < self.policy.max_attempts:
                self.retries += 1
        assert lost is not None
        raise lost

    async def _look_up(self, kind: str, match: Sequence[tuple[str, str]]
                       ) -> tuple[Resource | None, str]:
        """The first resource matching ``match`` in order, and the query that found it."""
        query = "no matching attribute"
        for attribute, value in match:
            query = match_filter(attribute, value)
            found = await self.find(kind, attribute, value)
            if found is not None:
                return found, query
        return None, query

    async def list_attributes(self, kind: str, attributes: Sequence[str], *,
                              on_page: Callable[[int, int], None] | None = None
                              ) -> list[Resource]:
        """Every resource of ``kind`` with only ``id`` and ``attributes``, page after page.

        RFC 9865 cursors when ``/ServiceProviderConfig`` advertises them, else ``startIndex``
        and ``count`` (RFC 7644 §3.4.2.4), pages as large as the target allows (at most
        1,000). What the engine matches in memory must be the whole of the target, so a
        listing that ends short of its ``totalResults``, whose total moves while it is read by
        index (an object created or deleted meanwhile shifts the pages) or a resource without
        an id raises ``ServiceIncompatible``: the caller then asks per object instead.
        ``on_page(read, total)`` runs after each page: a long listing is progress too (the
        caller's lease heartbeat).
        """
        config = await self.discover("ServiceProviderConfig")
        pagination = config.get("pagination")
        pagination = pagination if isinstance(pagination, dict) else {}
        size = LISTING_PAGE
        for limit in (pagination.get("maxPageSize"),
                      (config.get("filter") or {}).get("maxResults")
                      if isinstance(config.get("filter"), dict) else None):
            if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
                size = min(size, limit)
        query = f"attributes={quote_plus(','.join(['id', *attributes]))}&count={size}"
        if pagination.get("cursor") is True:
            return await self._list_by_cursor(kind, query, on_page)
        return await self._list_by_index(kind, query, on_page)

    async def _list_by_cursor(self, kind: str, query: str,
                              on_page: Callable[[int, int], None] | None) -> list[Resource]:
        found: list[Resource] = []
        cursor, total = "", 0
        while True:
            response = await self._send("GET", f"/{_kind(kind)}?{query}&cursor="
                                        + quote_plus(cursor))
            page, total = _page(response)
            found.extend(_with_id(r, response) for r in page)
            if on_page is not None:
                on_page(len(found), total)
            following = _json(response).get("nextCursor")
            if not isinstance(following, str) or not following:
                break
            if not page:
                raise ServiceIncompatible(f"{_where(response)}: an empty page with a "
                                          "nextCursor", response.status_code)
            cursor = following
        if len(found) < total:
            raise ServiceIncompatible(f"GET /{kind}: totalResults is {total} but "
                                      f"{len(found)} arrived: a truncated listing", 200)
        return found

    async def _list_by_index(self, kind: str, query: str,
                             on_page: Callable[[int, int], None] | None) -> list[Resource]:
        found: list[Resource] = []
        start, first = 1, None
        while True:
            response = await self._send("GET", f"/{_kind(kind)}?{query}&startIndex={start}")
            page, total = _page(response)
            first = total if first is None else first
            if total != first:
                raise ServiceIncompatible(f"{_where(response)}: totalResults moved from {first} "
                                          f"to {total} while the listing was read",
                                          response.status_code)
            found.extend(_with_id(r, response) for r in page)
            if on_page is not None:
                on_page(len(found), total)
            start += len(page)
            if start > total:
                return found
            if not page:
                raise ServiceIncompatible(f"{_where(response)}: totalResults is {total} but "
                                          f"the listing ended after {len(found)}",
                                          response.status_code)

    async def add_members(self, group_id: str, member_ids: Sequence[str]) -> str | None:
        """PATCH add members, safe to retry; returns a note when a lost answer was recovered.

        An add is idempotent in effect on scimhub, but a target may keep a member twice or
        answer 409 to a second add. So after a lost answer (or a 409) the client waits the
        back-off, asks which of these members the group holds now (``members_present``) and
        resends the add for the others only: a member the target shows is never sent again.
        This is safe because the target's own state decides, and the wait lets an add still in
        flight land first; what it cannot rule out is a target slower than that wait, which a
        target that keeps duplicates would then show twice (scimhub cannot: adds are sets).
        """
        path, pending, note = _resource_path("Groups", group_id), list(member_ids), None
        error: TargetError | None = None
        for attempt in range(1, self.policy.max_attempts + 1):
            ops = [{"op": "add", "path": "members", "value": [{"value": m} for m in pending]}]
            try:
                response = await self._send("PATCH", path, {"schemas": [PATCH_OP],
                                                            "Operations": ops}, replayable=False)
            except (AnswerLost, Conflict) as exc:
                if isinstance(exc, Conflict) and exc.status != 409:
                    raise
                error = exc
            else:
                _expect(response, 200, 204)
                return note
            if isinstance(error, AnswerLost):
                await self.sleep(self.policy.delay(attempt, error, self.rng))
            present = await self.members_present(group_id, pending)
            missing = [m for m in pending if m not in present]
            note = (f"recovered by lookup: {error.code} on adding {len(pending)} members; "
                    f"{len(pending) - len(missing)} were in the group, "
                    + (f"{len(missing)} sent again" if missing else "none sent again"))
            if not missing:
                return note
            pending = missing
            if attempt < self.policy.max_attempts:
                self.retries += 1
        assert error is not None
        raise error

    async def members_present(self, group_id: str, member_ids: Sequence[str]) -> set[str]:
        """Which of ``member_ids`` the group holds: one query each, ``id eq "g" and
        members.value eq "u"`` (RFC 7644 §3.4.2.2), so a large group is never read whole; at
        most one batch (100) of queries, and only after a lost answer."""
        async def holds(member: str) -> bool:
            query = (f"{match_filter('id', group_id)} and "
                     f"{match_filter('members.value', member)}")
            response = await self._send("GET", "/Groups?excludedAttributes=members&filter="
                                        + quote_plus(query))
            return _listed(response)[1] > 0

        found = await asyncio.gather(*(holds(m) for m in member_ids))
        return {m for m, present in zip(member_ids, found, strict=True) if present}

    async def patch(self, kind: str, rid: str, operations: list[PatchOperationBody]) -> None:
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

    async def read_document(self, path: str) -> tuple[Document, httpx.Headers]:
        """``GET path`` (relative to the base URL, query included), retried as every read, as
        a JSON object with the answer's headers: what a SCIM source pages with (its ``Date``
        bounds the watermark)."""
        response = await self._send("GET", path)
        return _json(response), response.headers

    async def discover(self, endpoint: str) -> Document:
        """``GET /ServiceProviderConfig``, ``/Schemas`` or ``/ResourceTypes``."""
        if endpoint not in DISCOVERY:
            raise ValueError(f"not a discovery endpoint: {endpoint!r}")
        return _json(await self._send("GET", f"/{endpoint}"))

    async def probe(self, kinds: tuple[str, ...] = KINDS) -> None:
        """Entra's Test Connection, also run at the start of every activity (docs/entra.md §1.2):
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

    async def _send(self, method: str, path: str, body: Any = None, *,
                    replayable: bool = True) -> httpx.Response:
        """One request, resent after transient failures. A request that is not ``replayable``
        is resent only when it cannot have been processed; otherwise ``AnswerLost`` is raised
        at once for the caller to look before it writes."""
        content = orjson.dumps(body) if body is not None else None
        attempt = 1
        while True:
            await self._wait_while_throttled()
            try:
                return await self._attempt(method, path, content, attempt, replayable)
            except AnswerLost:
                raise
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
                       attempt: int, replayable: bool = True) -> httpx.Response:
        headers = {"Content-Type": SCIM_JSON} if content is not None else None
        try:
            request = self.client.build_request(method, path, content=content, headers=headers)
        except httpx.InvalidURL as exc:
            raise Unreachable("WebExceptionProtocolError", f"{method} {path}: {exc}") from exc
        url, where = str(request.url), f"{method} {request.url.raw_path.decode('ascii')}"
        async with self._gate:
            if self.cap is not None:  # inside the gate: counted when it leaves, not queued
                await self.cap.acquire()
            self.requests += 1
            started = self.clock()
            try:
                response = await self.client.send(request)
            except httpx.RequestError as exc:
                error = self._unanswered(where, exc)
                self._report(method, url, error, attempt, started)
                if (not replayable and isinstance(error, Transient)
                        and not isinstance(exc, _NOT_SENT)):
                    raise AnswerLost(error) from exc
                raise error from exc
        self._report(method, url, response.status_code, attempt, started)
        if response.status_code == 429:
            self.throttled += 1
        try:
            return _checked(where, response)
        except Transient as error:
            if replayable or isinstance(error, Throttled):  # a 429 did not process the request
                raise
            raise AnswerLost(error) from error

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


def _json(response: httpx.Response) -> Document:
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


def _page(response: httpx.Response) -> tuple[list[Any], int]:
    """A listing page's ``Resources`` and its ``totalResults``, which a page must give."""
    resources, _ = _listed(response)
    total = _json(response).get("totalResults")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ServiceIncompatible(f"{_where(response)}: a ListResponse without totalResults",
                                  response.status_code)
    return resources, total


def _with_id(resource: Any, response: httpx.Response) -> Resource:
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


__all__ = ["DEFAULT_POLICY", "AttemptHook", "Created", "ScimTarget", "identity_of",
           "match_filter"]
