"""Any SCIM 2.0 service provider as the directory: ``[source] type = "scim"``.

Another scimhub tenant, an identity provider or an HR system that speaks SCIM can be the source
of a job: its Users and Groups are read over HTTP with the engine's own SCIM client
(``ScimTarget``: keep-alive, retries with back-off, 429 and ``Retry-After``, the error tree), so
a source behaves on the wire as the target side does.

**Paging.** RFC 9865 cursors where ``/ServiceProviderConfig`` advertises them (``pagination.
cursor``), else ``startIndex``/``count`` (RFC 7644 §3.4.2.4). A listing that ends short of the
``totalResults`` it announced, or whose total moved while it was read by index (a deletion
shifts every later page by one, so an object still there could be skipped), raises
``SourceError``: the cycle fails and deprovisions nothing, rather than taking an object it did
not see for one removed.

**Objects.** objectId is the resource's ``id``. Each resource is flattened so that the engine's
direct mappings (``obj.get(source)``) and expressions can name any value by its SCIM path:
``userName``, ``name.givenName``, ``emails[type eq "work"].value``, ``emails[primary eq
true].value``, ``urn:…:enterprise:2.0:User:department``; an extension's attributes are also
given by their bare name when the core schema has none of that name (``[department]`` in an
expression, whose attribute names cannot hold a colon). Entra's source names are added where
they map (``SCIM_TO_ENTRA``), so the default mappings work unchanged. ``manager`` is the
manager's ``id``; a group's ``members`` are the ids of its User members (a member group is not
expanded: Entra provisions direct members only, docs/entra.md §1.6).

**Assigned.** Every object the source's filters select is assigned (the filters are the scope),
unless ``assigned_groups`` names groups: then users are assigned through those groups only, as
Entra's "sync assigned users and groups".

**Incremental.** The watermark (JSON, opaque to the engine) holds, per kind, a time no later than
the start of the read (the ``Date`` of the provider's first answer) nor than the newest
``meta.lastModified`` seen, minus ``overlap``. A delta asks ``filter=meta.lastModified ge "<W>"``
(ANDed with the source's filter): ``ge`` and the overlap re-read the few objects at the boundary
rather than miss one written in the same instant or committed late; re-reading an unchanged
object costs nothing downstream (its hash is unchanged). Deletions and objects leaving the
filter show in an id-only listing (``attributes=id``) of each kind, the delta's ``present``. A
provider that refuses the filter (400) gets a complete read, and the watermark remembers to
ask for complete reads from then on.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import orjson

from scimhub.engine.config import SourceConfig, parse_duration
from scimhub.engine.errors import (
    ConfigError,
    CredentialsRejected,
    Rejected,
    SourceCredentialsRejected,
    SourceError,
    TargetError,
)
from scimhub.engine.sources.base import (
    Snapshot,
    SourceCheck,
    SourceKind,
    SourceWarning,
    Watermark,
)
from scimhub.engine.sources.directory import Directory
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.types import SourceObject

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#: The ``[source]`` keys of a SCIM source; any other is refused at load, naming it.
KEYS = frozenset({"type", "url", "token_env", "page_size", "timeout", "user_filter",
                  "group_filter", "ca_file", "tls_verify", "paging", "incremental", "overlap",
                  "assigned_groups", "concurrency"})
#: Entra's source name ← the flattened SCIM path it is read from (the first that has a value):
#: Microsoft's default user mapping (docs/entra.md §1.4.8) read backwards.
SCIM_TO_ENTRA: dict[str, tuple[str, ...]] = {
    "userPrincipalName": ("userName",),
    "displayName": ("displayName",),
    "givenName": ("name.givenName",),
    "surname": ("name.familyName",),
    "mail": ("emails[primary eq true].value", 'emails[type eq "work"].value', "emails.value"),
    "mobile": ('phoneNumbers[type eq "mobile"].value',),
    "telephoneNumber": ('phoneNumbers[type eq "work"].value',),
    "facsimileTelephoneNumber": ('phoneNumbers[type eq "fax"].value',),
    "physicalDeliveryOfficeName": ('addresses[type eq "other"].formatted',),
    "jobTitle": ("title",),
    "preferredLanguage": ("preferredLanguage",),
    "usageLocation": ("locale",),
    "streetAddress": ('addresses[type eq "work"].streetAddress',),
    "city": ('addresses[type eq "work"].locality',),
    "state": ('addresses[type eq "work"].region',),
    "postalCode": ('addresses[type eq "work"].postalCode',),
    "country": ('addresses[type eq "work"].country',),
    "department": (f"{ENTERPRISE}:department",),
    "employeeId": (f"{ENTERPRISE}:employeeNumber",),
    "companyName": (f"{ENTERPRISE}:organization",),
}
#: Not part of the person or group: the envelope (``schemas``, ``meta``: its dates change on
#: every write) and a user's ``groups``, which the provider derives from the groups (read
#: there) and changes without bumping the user's ``lastModified``.
_NOT_DIRECTORY = frozenset({"schemas", "meta", "groups"})
_PAGE_SIZE = 1000
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_KINDS: dict[SourceKind, str] = {"user": "Users", "group": "Groups"}


@dataclass(frozen=True)
class ScimOptions:
    """``[source]`` of a SCIM source, checked (``check_options``) when the job loads."""

    url: str
    token_env: str
    page_size: int = _PAGE_SIZE
    timeout: float = 30.0
    user_filter: str | None = None
    group_filter: str | None = None
    verify: ssl.SSLContext | bool = True
    paging: Literal["auto", "cursor", "index"] = "auto"
    incremental: bool = True
    overlap: float = 1.0
    assigned_groups: tuple[str, ...] | None = None
    concurrency: int = 4

    @property
    def scope(self) -> str:
        """What a watermark is valid for: another URL or filter makes it meaningless."""
        raw = orjson.dumps([self.url, self.user_filter, self.group_filter])
        return hashlib.sha256(raw).hexdigest()[:16]


def parse_options(config: SourceConfig) -> ScimOptions:
    """The options, or ``ConfigError`` naming the key at fault. The token is not read here
    (only that its variable is set): it is read when the source opens, and never kept."""
    table = config.options
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{unknown[0]}: not a key of a scim source (keys: "
                          f"{', '.join(sorted(KEYS - {'type'}))})")
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError("url must be the SCIM base URL (http:// or https://)")
    env = table.get("token_env")
    if not isinstance(env, str) or not env:
        raise ConfigError("token_env must name the environment variable holding the bearer "
                          "token (the token itself is never written in the job file)")
    if not os.environ.get(env):
        raise ConfigError(f"token_env: the environment variable {env} is not set")
    page_size = _int(table, "page_size", _PAGE_SIZE, 1)
    concurrency = _int(table, "concurrency", 4, 1)
    timeout = table.get("timeout", 30.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError("timeout must be a number of seconds above 0")
    filters = {}
    for key in ("user_filter", "group_filter"):
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{key} must be a SCIM filter (RFC 7644 §3.4.2.2)")
        filters[key] = value
    paging = table.get("paging", "auto")
    if paging not in ("auto", "cursor", "index"):
        raise ConfigError(f"paging is 'auto', 'cursor' or 'index', not {paging!r}")
    incremental = table.get("incremental", True)
    if not isinstance(incremental, bool):
        raise ConfigError("incremental must be true or false")
    overlap = parse_duration(table.get("overlap", "1s"), "overlap")
    groups = table.get("assigned_groups")
    if groups is not None and (not isinstance(groups, list) or not groups
                               or not all(isinstance(g, str) and g for g in groups)):
        raise ConfigError("assigned_groups must be a list of group displayNames or ids")
    return ScimOptions(
        url=url.rstrip("/"), token_env=env, page_size=page_size, timeout=float(timeout),
        user_filter=filters["user_filter"], group_filter=filters["group_filter"],
        verify=_verify(table, config.base), paging=paging, incremental=incremental,
        overlap=overlap, assigned_groups=tuple(groups) if groups is not None else None,
        concurrency=concurrency)


def _int(table: Mapping[str, Any], key: str, default: int, low: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{key} must be a whole number of at least {low}")
    return value


def _verify(table: Mapping[str, Any], base: Path) -> ssl.SSLContext | bool:
    """Certificates are checked by default; ``ca_file`` trusts a private CA as well (a path
    relative to the job file); ``tls_verify = false`` is for a test bench only."""
    verify = table.get("tls_verify", True)
    if not isinstance(verify, bool):
        raise ConfigError("tls_verify must be true or false")
    ca_file = table.get("ca_file")
    if ca_file is None:
        return verify
    if not isinstance(ca_file, str) or not verify:
        raise ConfigError("ca_file must be a path, and needs tls_verify = true")
    path = (base / ca_file).resolve()
    try:
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"ca_file: {path}: {exc}") from None


def check_options(config: SourceConfig) -> None:
    parse_options(config)


# -- flattening -------------------------------------------------------------


def flatten(resource: Mapping[str, Any]) -> SourceObject:
    """Every value of a SCIM resource under its SCIM path (see the module's docstring).

    A complex value keeps its whole too (``name``) and each sub-attribute (``name.givenName``);
    a multi-valued complex one (``emails``) gives each value by type (``emails[type eq
    "work"].value``), the primary one (``emails[primary eq true].value``) and the primary or
    first (``emails.value``). Extension attributes are named by their URN (``urn:…:User:
    department``) and, when the core has no such name, by their bare name.
    """
    flat: SourceObject = {}
    for key, value in resource.items():
        if key in _NOT_DIRECTORY:
            continue
        if key.startswith("urn:") and isinstance(value, Mapping):
            for name, sub in value.items():
                _put(flat, f"{key}:{name}", sub)
            continue
        _put(flat, key, value)
    for key, value in resource.items():
        if key.startswith("urn:") and isinstance(value, Mapping):
            for name in value:
                if name not in resource and name not in flat:
                    flat[name] = flat[f"{key}:{name}"]
    return flat


def _put(flat: SourceObject, path: str, value: Any) -> None:
    if isinstance(value, Mapping):
        flat[path] = dict(value)
        for name, sub in value.items():
            if not isinstance(sub, Mapping | list):
                flat[f"{path}.{name}"] = sub
        return
    flat[path] = value
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        return
    chosen = next((v for v in value if v.get("primary") is True), value[0] if value else None)
    for item in value:
        kind = item.get("type")
        for name, sub in item.items():
            if isinstance(sub, Mapping | list):
                continue
            if isinstance(kind, str) and name != "type":
                flat.setdefault(f'{path}[type eq "{kind}"].{name}', sub)
            if item.get("primary") is True:
                flat.setdefault(f"{path}[primary eq true].{name}", sub)
    if chosen is not None:
        for name, sub in chosen.items():
            if not isinstance(sub, Mapping | list):
                flat[f"{path}.{name}"] = sub


def user_object(resource: Mapping[str, Any], assigned: bool) -> SourceObject:
    """A SCIM User as a source object: its SCIM paths, Entra's names, ``manager`` as an id."""
    flat = flatten(resource)
    for name, paths in SCIM_TO_ENTRA.items():
        for path in paths:
            if flat.get(path) not in (None, ""):
                flat[name] = flat[path]
                break
    user_name = flat.get("userName")
    if isinstance(user_name, str):
        flat["mailNickname"] = user_name.split("@", 1)[0]
    flat["accountEnabled"] = resource.get("active", True) is not False
    manager = flat.get(f"{ENTERPRISE}:manager")
    manager_id = manager.get("value") if isinstance(manager, Mapping) else manager
    flat.pop("manager", None)
    if isinstance(manager_id, str) and manager_id:
        flat["manager"] = manager_id
        flat[f"{ENTERPRISE}:manager"] = manager_id
    else:
        flat.pop(f"{ENTERPRISE}:manager", None)
    flat["objectId"] = resource["id"]
    flat["assigned"] = assigned
    return flat


def group_object(resource: Mapping[str, Any], assigned: bool) -> SourceObject:
    """A SCIM Group: ``members`` holds the ids of its User members only (a member group is
    not expanded, as Entra provisions direct members only)."""
    flat: SourceObject = {k: v for k, v in flatten(resource).items()
                          if k != "members" and not k.startswith("members")}
    members = []
    for member in resource.get("members") or []:
        if not isinstance(member, Mapping) or not isinstance(member.get("value"), str):
            continue
        kind, ref = member.get("type"), member.get("$ref")
        if kind == "Group" or (kind is None and isinstance(ref, str) and "/Groups/" in ref):
            continue
        members.append(member["value"])
    flat["members"] = members
    flat["objectId"] = resource["id"]
    flat["assigned"] = assigned
    return flat


# -- the watermark ----------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    scope: str
    delta: bool
    since: dict[str, str | None]

    def dump(self) -> Watermark:
        return orjson.dumps({"v": 1, "scope": self.scope, "delta": self.delta,
                             "since": self.since}).decode()

    @staticmethod
    def load(text: Watermark | None) -> _Mark | None:
        if not text:
            return None
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(
                data.get("since"), dict):
            return None
        return _Mark(str(data.get("scope")), data.get("delta") is True, dict(data["since"]))


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _format_time(moment: datetime) -> str:
    """Milliseconds, rounded down: what every provider's dateTime parser takes."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000).strftime(
        _FORMAT)[:-4] + "Z"


# -- the source -------------------------------------------------------------


class DeltaRefused(Exception):
    """The provider refused the ``meta.lastModified`` filter (400)."""


@dataclass
class _Listing:
    resources: list[dict[str, Any]]
    newest: datetime | None
    #: Why a resource of the listing was left out (no id): logged, the rest goes on.
    skipped: list[str]


class ScimSource:
    """Users and Groups of a SCIM service provider (see the module's docstring)."""

    def __init__(self, config: SourceConfig, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = parse_options(config)
        self.description = self.options.url
        self._transport = transport

    def _client(self) -> ScimTarget:
        token = os.environ.get(self.options.token_env)
        if not token:
            raise SourceError(f"{self.description}: the environment variable "
                              f"{self.options.token_env} (token_env) is not set")
        return ScimTarget(self.options.url, token, concurrency=self.options.concurrency,
                          timeout=self.options.timeout, transport=self._transport,
                          verify=self.options.verify)

    async def read(self, since: Watermark | None = None) -> Snapshot:
        mark = _Mark.load(since)
        async with self._client() as client:
            try:
                return await _Read(self, client).run(mark)
            except CredentialsRejected as exc:
                raise SourceCredentialsRejected(
                    f"{self.description}: the SCIM source refused the token ({exc.detail})"
                ) from None
            except TargetError as exc:
                raise SourceError(f"{self.description}: {exc}") from None

    async def check(self) -> list[SourceCheck]:
        """The provider answers with the token; how many users and groups the filters select
        (``totalResults`` of a ``count=0`` query each)."""
        checks: list[SourceCheck] = []
        try:
            client = self._client()
        except SourceError as exc:
            return [SourceCheck("token", False, str(exc))]
        async with client:
            try:
                config, _ = await client.read_document("/ServiceProviderConfig")
                cursor = _cursor_advertised(config)
                checks.append(SourceCheck("connect", True, f"{self.description} answered "
                                          f"(paging: {'cursor' if cursor else 'startIndex'})"))
            except Rejected as exc:
                checks.append(SourceCheck("connect", True, f"{self.description}: no "
                                          f"ServiceProviderConfig ({exc.status}): paging by "
                                          "startIndex"))
            except TargetError as exc:
                return [SourceCheck("connect", False, _why(exc))]
            for kind, name, filter_ in (("Users", "users", self.options.user_filter),
                                        ("Groups", "groups", self.options.group_filter)):
                query = {"count": "0", "attributes": "id"}
                if filter_:
                    query["filter"] = filter_
                try:
                    body, _ = await client.read_document(f"/{kind}?{urlencode(query)}")
                except TargetError as exc:
                    checks.append(SourceCheck(name, False, _why(exc)))
                    continue
                total = body.get("totalResults")
                selected = f" matching {filter_}" if filter_ else ""
                checks.append(SourceCheck(name, isinstance(total, int),
                                          f"{total} {name}{selected}"))
        return checks


def _why(exc: TargetError) -> str:
    if isinstance(exc, CredentialsRejected):
        return f"the token was refused: {exc.detail}"
    return str(exc)


def _cursor_advertised(config: Mapping[str, Any]) -> bool:
    pagination = config.get("pagination")
    return isinstance(pagination, Mapping) and pagination.get("cursor") is True


def _page_limit(config: Mapping[str, Any]) -> int | None:
    pagination = config.get("pagination")
    size = pagination.get("maxPageSize") if isinstance(pagination, Mapping) else None
    return size if isinstance(size, int) and size > 0 else None


class _Read:
    """One ``read``: the discovery, the listings, the snapshot."""

    def __init__(self, source: ScimSource, client: ScimTarget) -> None:
        self.options = source.options
        self.where = source.description
        self.client = client
        self.cursor = self.options.paging == "cursor"
        self.page_size = self.options.page_size
        self.started: datetime | None = None
        self.fetched = 0
        self.listed = 0

    async def run(self, mark: _Mark | None) -> Snapshot:
        await self._discover()
        usable = (mark is not None and mark.scope == self.options.scope and mark.delta
                  and self.options.incremental)
        if usable:
            assert mark is not None
            try:
                return await self._delta(mark)
            except DeltaRefused:
                self.fetched = self.listed = 0
                return await self._complete(delta=False)
        return await self._complete(delta=self.options.incremental and (
            mark is None or mark.scope != self.options.scope or mark.delta))

    async def _discover(self) -> None:
        try:
            config, headers = await self.client.read_document("/ServiceProviderConfig")
        except Rejected:  # no discovery: RFC 7644 paging by index is all one can assume
            config, headers = {}, httpx.Headers()
        self.started = _date(headers)
        if self.options.paging == "auto":
            self.cursor = _cursor_advertised(config)
        limit = _page_limit(config)
        if limit is not None:
            self.page_size = min(self.page_size, limit)

    async def _complete(self, *, delta: bool) -> Snapshot:
        users, groups = await asyncio.gather(self._list("user", None), self._list("group", None))
        directory, warnings = self._directory(users, groups)
        return Snapshot(directory, self._mark(users, groups, None, delta), complete=True,
                        stats={"fetched": self.fetched, "listed": 0}, warnings=warnings)

    async def _delta(self, mark: _Mark) -> Snapshot:
        users, groups, user_ids, group_ids = await asyncio.gather(
            self._list("user", mark.since.get("user")),
            self._list("group", mark.since.get("group")),
            self._ids("user"), self._ids("group"))
        directory, warnings = self._directory(users, groups)
        present: frozenset[tuple[SourceKind, str]] = frozenset(
            [("user", i) for i in user_ids] + [("group", i) for i in group_ids])
        return Snapshot(directory, self._mark(users, groups, mark, True), complete=False,
                        present=present, stats={"fetched": self.fetched,
                                                "listed": self.listed}, warnings=warnings)

    def _mark(self, users: _Listing, groups: _Listing, previous: _Mark | None,
              delta: bool) -> Watermark:
        """Per kind, the start of this read by the provider's clock (its first answer's
        ``Date``) less the overlap: everything written before it was read now, and what is
        written while the read runs is read again next time. Without a ``Date``, the newest
        ``meta.lastModified`` seen less the overlap; with neither, the previous mark (or
        None: the next read of that kind is complete)."""
        since: dict[str, str | None] = {}
        for kind, listing in (("user", users), ("group", groups)):
            bound = self.started if self.started is not None else listing.newest
            if bound is None:
                since[kind] = previous.since.get(kind) if previous is not None else None
                continue
            since[kind] = _format_time(bound - timedelta(seconds=self.options.overlap))
        return _Mark(self.options.scope, delta, since).dump()

    def _directory(self, users: _Listing, groups: _Listing
                   ) -> tuple[Directory, tuple[SourceWarning, ...]]:
        warnings: list[SourceWarning] = []
        directory = Directory()
        wanted = set(self.options.assigned_groups or ())
        for resource in users.resources:
            directory.users[resource["id"]] = user_object(resource, not wanted)
        for resource in groups.resources:
            assigned = not wanted or bool(
                {resource["id"], resource.get("displayName")} & wanted)
            directory.groups[resource["id"]] = group_object(resource, assigned)
        warnings.extend(SourceWarning("user", None, reason) for reason in users.skipped)
        warnings.extend(SourceWarning("group", None, reason) for reason in groups.skipped)
        return directory, tuple(warnings)

    async def _list(self, kind: SourceKind, since: str | None) -> _Listing:
        """Every resource of ``kind`` the filter selects (modified at or after ``since``)."""
        base = self.options.user_filter if kind == "user" else self.options.group_filter
        filter_ = base
        if since is not None:
            changed = f'meta.lastModified ge "{since}"'
            filter_ = f"({base}) and {changed}" if base else changed
        try:
            resources = await self._pages(kind, filter_, None)
        except Rejected as exc:
            if since is not None and exc.status == 400:
                raise DeltaRefused(str(exc)) from None
            raise
        self.fetched += len(resources)
        listing = _Listing([], None, [])
        skipped = listing.skipped
        seen: set[str] = set()
        for index, resource in enumerate(resources):
            rid = resource.get("id") if isinstance(resource, dict) else None
            if not isinstance(rid, str) or not rid:
                skipped.append(f"{_KINDS[kind]} resource {index + 1} of the listing has no "
                               "id: skipped")
                continue
            if rid in seen:
                continue
            seen.add(rid)
            listing.resources.append(resource)
            meta = resource.get("meta")
            modified = _parse_time(meta.get("lastModified")) if isinstance(meta, dict) else None
            if modified is not None and (listing.newest is None or modified > listing.newest):
                listing.newest = modified
        return listing

    async def _ids(self, kind: SourceKind) -> set[str]:
        """An id-only listing (``attributes=id``): what the delta's ``present`` holds."""
        filter_ = self.options.user_filter if kind == "user" else self.options.group_filter
        resources = await self._pages(kind, filter_, "id")
        self.listed += len(resources)
        return {r["id"] for r in resources if isinstance(r, dict) and isinstance(r.get("id"),
                                                                                     str)}

    async def _pages(self, kind: SourceKind, filter_: str | None, attributes: str | None
                     ) -> list[dict[str, Any]]:
        endpoint = _KINDS[kind]
        query: dict[str, str] = {"count": str(self.page_size)}
        if filter_:
            query["filter"] = filter_
        if attributes:
            query["attributes"] = attributes
        if self.cursor:
            return await self._by_cursor(endpoint, query)
        for _ in range(3):  # a listing that moved while read by index is read again
            resources, moved = await self._by_index(endpoint, query)
            if not moved:
                return resources
        raise SourceError(f"{self.where}: the {endpoint} listing kept changing while it was "
                          "read by startIndex (totalResults moved): read again next cycle, "
                          "nothing was deprovisioned")

    async def _by_cursor(self, endpoint: str, query: dict[str, str]) -> list[dict[str, Any]]:
        resources: list[dict[str, Any]] = []
        cursor, total = "", 0
        while True:
            body = await self._page(endpoint, {**query, "cursor": cursor})
            page = _resources(body, self.where, endpoint)
            resources.extend(page)
            total = _total(body, self.where, endpoint)
            following = body.get("nextCursor")
            if not isinstance(following, str) or not following:
                break
            if not page:
                raise SourceError(f"{self.where}: {endpoint}: an empty page with a nextCursor")
            cursor = following
        if len(resources) < total:
            raise SourceError(f"{self.where}: {endpoint}: totalResults is {total} but "
                              f"{len(resources)} arrived: a truncated listing, nothing was "
                              "deprovisioned")
        return resources

    async def _by_index(self, endpoint: str, query: dict[str, str]
                        ) -> tuple[list[dict[str, Any]], bool]:
        resources: list[dict[str, Any]] = []
        start, first_total, total = 1, None, 0
        while True:
            body = await self._page(endpoint, {**query, "startIndex": str(start)})
            page = _resources(body, self.where, endpoint)
            total = _total(body, self.where, endpoint)
            first_total = total if first_total is None else first_total
            resources.extend(page)
            start += len(page)
            if start > total:
                break
            if not page:
                raise SourceError(f"{self.where}: {endpoint}: totalResults is {total} but "
                                  f"the listing ended after {len(resources)}: a truncated "
                                  "listing, nothing was deprovisioned")
        return resources, total != first_total

    async def _page(self, endpoint: str, query: Mapping[str, str]) -> Mapping[str, Any]:
        body, headers = await self.client.read_document(f"/{endpoint}?{urlencode(query)}")
        if self.started is None:
            self.started = _date(headers)
        return body


def _resources(body: Mapping[str, Any], where: str, endpoint: str) -> list[dict[str, Any]]:
    resources = body.get("Resources", [])
    if not isinstance(resources, list):
        raise SourceError(f"{where}: {endpoint}: Resources is not a list")
    return resources


def _total(body: Mapping[str, Any], where: str, endpoint: str) -> int:
    total = body.get("totalResults")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise SourceError(f"{where}: {endpoint}: a ListResponse without totalResults")
    return total


def _date(headers: httpx.Headers) -> datetime | None:
    value = headers.get("date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["ENTERPRISE", "SCIM_TO_ENTRA", "ScimOptions", "ScimSource", "check_options",
           "flatten", "group_object", "parse_options", "user_object"]

