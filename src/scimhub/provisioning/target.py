"""The engine's side of the wire: SCIM requests to any target over HTTP.

The engine decides what to send; this module only carries it, with keep-alive,
bounded concurrency and retries, and turns every HTTP outcome into the
exception tree of ``errors.py`` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote_plus

import httpx
import orjson

from scimhub import __version__
from scimhub.provisioning.errors import (
    CredentialsRejected,
    DuplicateTargetEntries,
    Rejected,
    ServiceIncompatible,
    TargetError,
    Throttled,
    Transient,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"
_CODES = {400: "UnprocessableEntity", 404: "NotFound", 409: "Conflict", 412: "Conflict",
          413: "UnprocessableEntity", 415: "UnprocessableEntity", 501: "NotImplemented"}


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter; 429 waits ``Retry-After`` (capped)."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, error: Transient, rng: random.Random) -> float:
        if isinstance(error, Throttled) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def retry_after_seconds(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(header)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class ScimTarget:
    def __init__(self, base_url: str, token: str, *, concurrency: int = 8,
                 timeout: float = 30.0, policy: RetryPolicy | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency,
                                max_keepalive_connections=concurrency),
            headers={"Authorization": f"Bearer {token}", "Accept": SCIM_JSON,
                     "Content-Type": SCIM_JSON, "User-Agent": f"scimhub/{__version__}"})
        self.gate = asyncio.Semaphore(concurrency)
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.requests = 0
        self.retries = 0
        self.throttled = 0

    async def __aenter__(self) -> ScimTarget:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None
                        ) -> None:
        await self.client.aclose()

    async def request(self, method: str, url: str, body: Any = None) -> httpx.Response:
        """One request, retried while the failure is transient."""
        content = orjson.dumps(body) if body is not None else None
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                return await self._once(method, url, content)
            except Transient as error:
                if attempt == self.policy.max_attempts:
                    raise
                self.retries += 1
                self.throttled += isinstance(error, Throttled)
                await self.sleep(self.policy.delay(attempt, error, self.rng))
        raise AssertionError("unreachable")

    async def _once(self, method: str, url: str, content: bytes | None) -> httpx.Response:
        async with self.gate:
            self.requests += 1
            try:
                response = await self.client.request(method, url, content=content)
            except httpx.TimeoutException as exc:
                raise Transient("Timeout", f"{method} {url}: {exc!r}") from None
            except httpx.TransportError as exc:
                raise Transient("WebExceptionProtocolError", f"{method} {url}: {exc!r}") from None
        return _checked(method, url, response)

    # -- SCIM operations ------------------------------------------------------

    async def find(self, kind: str, attribute: str, value: str, *,
                   exclude_members: bool = True) -> dict[str, Any] | None:
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        query = "filter=" + quote_plus(f'{attribute} eq "{quoted}"')
        if kind == "Groups" and exclude_members:
            query = "excludedAttributes=members&" + query
        found = _json(await self.request("GET", f"/{kind}?{query}"))
        resources = found.get("Resources") or []
        if len(resources) > 1:
            raise DuplicateTargetEntries(
                "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse",
                f"{len(resources)} {kind} match {attribute} eq {value!r}")
        return dict(resources[0]) if resources else None

    async def get(self, kind: str, rid: str) -> dict[str, Any] | None:
        try:
            return _json(await self.request("GET", f"/{kind}/{rid}"))
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise

    async def create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        created = _json(await self.request("POST", f"/{kind}", body))
        if not created.get("id"):
            raise ServiceIncompatible(
                "SystemForCrossDomainIdentityManagementServiceIncompatible",
                f"POST /{kind} answered without an id")
        return created

    async def patch(self, kind: str, rid: str, operations: list[dict[str, Any]]) -> None:
        await self.request("PATCH", f"/{kind}/{rid}",
                           {"schemas": [PATCH_OP], "Operations": operations})

    async def delete(self, kind: str, rid: str) -> bool:
        """False when the object was already gone (404)."""
        try:
            await self.request("DELETE", f"/{kind}/{rid}")
        except Rejected as exc:
            if exc.status == 404:
                return False
            raise
        return True


def _checked(method: str, url: str, response: httpx.Response) -> httpx.Response:
    status = response.status_code
    if status < 400:
        return response
    detail, scim_type = _error_detail(response)
    where = f"{method} {url} -> {status}: {detail}"
    if status == 429:
        raise Throttled(where, retry_after_seconds(response.headers.get("retry-after")))
    if status >= 500:
        raise Transient("InternalServerError", where, status, scim_type)
    if status in (401, 403):
        raise CredentialsRejected("Unauthorized" if status == 401 else "InsufficientRights",
                                  where, status, scim_type)
    raise Rejected(_CODES.get(status, "UnprocessableEntity"), where, status, scim_type)


def _error_detail(response: httpx.Response) -> tuple[str, str | None]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:300], None
    if isinstance(body, dict):
        return str(body.get("detail") or body)[:300], body.get("scimType")
    return str(body)[:300], None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise ServiceIncompatible("SystemForCrossDomainIdentityManagementServiceIncompatible",
                                  f"not JSON: {response.text[:200]}") from None
    if not isinstance(body, dict):
        raise ServiceIncompatible("SystemForCrossDomainIdentityManagementServiceIncompatible",
                                  "not a JSON object")
    return body


__all__ = ["RetryPolicy", "ScimTarget", "TargetError"]
