"""``[source] type = "ldap"``: OpenLDAP, Active Directory or FreeIPA, read incrementally.

Built on ``ldap3`` (pure Python, so ``pip install 'scimhub[ldap]'`` works on any machine, with
RFC 2696 paged results built in); ldap3 blocks, so each read runs in a thread.

What a read does (the README's "LDAP source" says what it costs):

- **Complete** (``since=None``, or a watermark from other options or another server): every
  user and group the filters select, with their attributes, paged; members and managers are
  resolved from DNs to objectIds after the whole read.
- **Unchanged**: the suffix entry's ``contextCSN`` (OpenLDAP with syncprov or replication) or
  the rootDSE's ``highestCommittedUSN`` (AD) did not move since the last read: one base search,
  nothing else.
- **Delta**: an id-only listing of every user and group (DN, id, change stamp: ``present``,
  which detects deletions and moves out of scope, and the DN -> id map that resolves members
  and managers), then the entries whose stamp (entryCSN, uSNChanged, modifyTimestamp) is at or
  past the watermark, with their attributes. OpenLDAP's refint overlay rewrites member and
  manager DNs after a rename, move or delete without touching the referring entry's stamp; the
  mirror holds those references as objectIds, which a rename or move does not change, and the
  engine drops references to what the listing no longer holds, so nothing needs re-reading.

Identity is the profile's id attribute (entryUUID, objectGUID as its GUID string, ipaUniqueID),
never the DN. Bad input (an entry without that attribute, a member or manager not among the
selected objects, a value that does not decode) is skipped with a ``SourceWarning`` naming the
object; a failed or truncated search fails the read (``SourceError``), so nothing unseen is
deprovisioned. A refused bind raises ``SourceCredentialsRejected``. The bind password is read
from the environment at each connection and appears in no message, watermark or log.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import re
import ssl
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from scimhub.engine.config import SourceConfig
from scimhub.engine.errors import ConfigError, SourceCredentialsRejected, SourceError
from scimhub.engine.sources.base import (
    Snapshot,
    SourceCheck,
    SourceKind,
    SourceWarning,
    Watermark,
)
from scimhub.engine.sources.directory import Directory
from scimhub.engine.sources.ldap_profiles import (
    ACCOUNTDISABLE,
    MEMBER_DN_ATTRIBUTES,
    MEMBER_UID_ATTRIBUTE,
    PROFILES,
    Profile,
)
from scimhub.engine.types import SourceObject

PAGED_RESULTS = "1.2.840.113556.1.4.319"
#: Entra names the source fills itself (never from ``[source.attributes]``).
_COMPUTED = {"objectId", "accountEnabled", "assigned", "members", "manager"}
_KEYS = {"type", "url", "tls", "ca_file", "verify", "bind_dn", "password_env", "base_dn",
         "user_base_dn", "group_base_dn", "profile", "user_filter", "group_filter",
         "page_size", "attributes", "nested_groups", "disabled_filter", "assign_all_users",
         "assigned_group_filter", "timeout"}
#: How far behind the newest stamp a timestamp watermark restarts, on top of the read's own
#: duration: an entry changed during a paged read may carry an older stamp than one read after.
_TIMESTAMP_MARGIN = 5.0
_RESULT_INVALID_CREDENTIALS = 49


@dataclass(frozen=True)
class LdapOptions:
    """``[source]`` of a ``type = "ldap"`` job, checked (``check_options``)."""

    url: str
    host: str
    port: int
    use_ssl: bool
    starttls: bool
    ca_file: Path | None
    verify: bool
    bind_dn: str | None
    password_env: str | None
    base_dn: str
    user_base_dn: str
    group_base_dn: str
    profile: Profile
    user_filter: str
    group_filter: str
    page_size: int
    user_attributes: Mapping[str, tuple[str, ...]]
    group_attributes: Mapping[str, tuple[str, ...]]
    nested_groups: bool
    disabled_filter: str | None
    assign_all_users: bool
    assigned_group_filter: str | None
    timeout: float
    #: What the watermark is valid for: a change of server, base, filters or attributes
    #: makes the next read a complete one.
    fingerprint: str = field(default="")


def _text(table: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = table.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{key} must be a non-empty string")
    return value


def _filter(table: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = _text(table, key, default)
    if value is not None:
        value = value.strip()
        if not (value.startswith("(") and value.endswith(")")) or \
                value.count("(") != value.count(")"):
            raise ConfigError(f"{key} must be an LDAP filter in parentheses, e.g. "
                              f"(objectClass=inetOrgPerson)")
    return value


def parse_options(config: SourceConfig) -> LdapOptions:
    """The checked options; ``ConfigError`` naming the key otherwise (the job loader prefixes
    the file and ``[source]``)."""
    table = config.options
    if importlib.util.find_spec("ldap3") is None:
        raise ConfigError("type = \"ldap\" needs the ldap extra: pip install 'scimhub[ldap]'")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]} (the LDAP source reads "
                          f"{', '.join(sorted(_KEYS - {'type'}))})")
    url = _text(table, "url")
    if url is None:
        raise ConfigError("url is required (ldap://host or ldaps://host)")
    parts = urlsplit(url)
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise ConfigError("url must be ldap://host[:port] or ldaps://host[:port]")
    try:
        port = parts.port or (636 if parts.scheme == "ldaps" else 389)
    except ValueError:
        raise ConfigError("url has an invalid port") from None
    tls = table.get("tls", "none")
    if tls not in ("none", "starttls"):
        raise ConfigError('tls must be "starttls" or "none" (ldaps:// always uses TLS)')
    if parts.scheme == "ldaps" and tls == "starttls":
        raise ConfigError('tls = "starttls" is for ldap:// URLs; ldaps:// is TLS already')
    ca_text = _text(table, "ca_file")
    ca_file = (config.base / ca_text).resolve() if ca_text else None
    if ca_file is not None and not ca_file.is_file():
        raise ConfigError(f"ca_file {ca_file} does not exist")
    verify = table.get("verify", True)
    if not isinstance(verify, bool):
        raise ConfigError("verify must be true or false")
    bind_dn = _text(table, "bind_dn")
    password_env = _text(table, "password_env")
    if bind_dn and not password_env:
        raise ConfigError("password_env is required with bind_dn (the bind password is read "
                          "from that environment variable, never from the job file)")
    if "password" in table:
        raise ConfigError("password is not read from the job file: use password_env")
    if password_env and not os.environ.get(password_env):
        raise ConfigError(f"the environment variable {password_env} (password_env) is not set")
    base_dn = _text(table, "base_dn")
    if base_dn is None:
        raise ConfigError("base_dn is required (e.g. dc=example,dc=com)")
    profile_name = table.get("profile", "openldap")
    profile = PROFILES.get(profile_name) if isinstance(profile_name, str) else None
    if profile is None:
        raise ConfigError(f"profile must be one of {', '.join(sorted(PROFILES))}")
    page_size = table.get("page_size", 500)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or \
            not 1 <= page_size <= 100_000:
        raise ConfigError("page_size must be an integer from 1 to 100000")
    timeout = table.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError("timeout must be a positive number of seconds")
    extra = table.get("attributes", {})
    if not isinstance(extra, Mapping):
        raise ConfigError('attributes must be a table, e.g. { employeeId = "employeeNumber" }')
    user_attributes = dict(profile.user_attributes)
    for name, ldap_name in extra.items():
        if name in _COMPUTED:
            raise ConfigError(f"attributes.{name}: {name} is computed by the source "
                              f"(see the README's LDAP source), it cannot be remapped")
        if isinstance(ldap_name, str) and ldap_name:
            user_attributes[name] = (ldap_name,)
        elif isinstance(ldap_name, list) and ldap_name and \
                all(isinstance(a, str) and a for a in ldap_name):
            user_attributes[name] = tuple(ldap_name)
        else:
            raise ConfigError(f"attributes.{name} must be an LDAP attribute name or a list "
                              f"of them (the first with a value wins)")
    for key in ("nested_groups", "assign_all_users"):
        if not isinstance(table.get(key, False), bool):
            raise ConfigError(f"{key} must be true or false")
    options = LdapOptions(
        url=url, host=parts.hostname, port=port, use_ssl=parts.scheme == "ldaps",
        starttls=tls == "starttls", ca_file=ca_file, verify=verify, bind_dn=bind_dn,
        password_env=password_env, base_dn=base_dn,
        user_base_dn=_text(table, "user_base_dn") or base_dn,
        group_base_dn=_text(table, "group_base_dn") or base_dn,
        profile=profile,
        user_filter=_filter(table, "user_filter", profile.user_filter) or "",
        group_filter=_filter(table, "group_filter", profile.group_filter) or "",
        page_size=page_size, user_attributes=user_attributes,
        group_attributes=dict(profile.group_attributes),
        nested_groups=bool(table.get("nested_groups", False)),
        disabled_filter=_filter(table, "disabled_filter", profile.disabled_filter),
        assign_all_users=bool(table.get("assign_all_users", True)),
        assigned_group_filter=_filter(table, "assigned_group_filter", None),
        timeout=float(timeout),
    )
    what = {k: v for k, v in table.items() if k not in ("password_env", "timeout", "page_size")}
    digest = hashlib.sha256(orjson.dumps(what, option=orjson.OPT_SORT_KEYS,
                                         default=str)).hexdigest()[:16]
    return LdapOptions(**{**options.__dict__, "fingerprint": digest})


def check_options(config: SourceConfig) -> None:
    parse_options(config)


def open_ldap(config: SourceConfig) -> LdapSource:
    return LdapSource(parse_options(config))


# --- values -------------------------------------------------------------------------------

def _key(dn: str) -> str:
    """A DN as a lookup key: case and the spaces around separators do not matter (refint and
    administrators write ``uid=Ada, ou=People`` and ``uid=ada,ou=people`` alike)."""
    if " " not in dn:  # the usual case, and 100,000 of them in a listing
        return dn.lower()
    return re.sub(r"\s*([,=+])\s*", r"\1", dn.strip()).lower()


def _object_id(profile: Profile, raw: list[bytes]) -> str:
    """The entry's objectId from its id attribute: AD's objectGUID is 16 bytes, formatted as
    the GUID string Windows shows (its first three fields little-endian); the others are text."""
    if len(raw) != 1:
        raise ValueError(f"{profile.id_attribute} has {len(raw)} values")
    if profile.id_attribute == "objectGUID":
        if len(raw[0]) != 16:
            raise ValueError(f"objectGUID is {len(raw[0])} bytes, not 16")
        return str(uuid.UUID(bytes_le=raw[0]))
    text = raw[0].decode("utf-8").strip()
    if not text:
        raise ValueError(f"{profile.id_attribute} is empty")
    return text


@dataclass
class _Entry:
    dn: str
    attrs: dict[str, list[bytes]]  # lower-cased name -> raw values
    names: dict[str, str]          # lower-cased name -> the server's spelling

    def values(self, name: str) -> list[bytes]:
        return self.attrs.get(name.lower(), [])


@dataclass
class _Read:
    """What one read gathered, before it becomes a Snapshot."""

    warnings: list[SourceWarning] = field(default_factory=list)
    fetched: int = 0
    listed: int = 0
    searches: int = 0


def _entries(response: list[dict[str, Any]] | None) -> Iterator[_Entry]:
    for item in response or []:
        if item.get("type") != "searchResEntry":
            continue  # references (referrals) are not followed
        raw: dict[str, list[bytes]] = item.get("raw_attributes") or {}
        yield _Entry(str(item["dn"]), {k.lower(): list(v) for k, v in raw.items()},
                     {k.lower(): k for k in raw})


# --- the source ---------------------------------------------------------------------------

class LdapSource:
    """A directory over LDAP (module docstring). One connection per read, bound as
    ``bind_dn``; every search paged."""

    def __init__(self, options: LdapOptions) -> None:
        self.options = options
        self.description = f"{options.url} ({options.base_dn})"

    async def read(self, since: Watermark | None = None) -> Snapshot:
        return await asyncio.to_thread(self._read, since)

    async def check(self) -> list[SourceCheck]:
        return await asyncio.to_thread(self._check)

    # --- connection ------------------------------------------------------------------------

    def _connect(self) -> Any:
        import ldap3  # the optional extra: imported only when an LDAP job runs
        from ldap3.core import exceptions

        o = self.options
        tls = None
        if o.use_ssl or o.starttls:
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED if o.verify else ssl.CERT_NONE,
                            ca_certs_file=str(o.ca_file) if o.ca_file else None,
                            version=ssl.PROTOCOL_TLS_CLIENT)
        server = ldap3.Server(o.host, port=o.port, use_ssl=o.use_ssl, tls=tls,
                              get_info=ldap3.NONE, connect_timeout=o.timeout)
        password = os.environ.get(o.password_env) if o.password_env else None
        if o.password_env and not password:
            raise SourceError(f"{o.url}: the environment variable {o.password_env} "
                              f"(password_env) is not set")
        conn = ldap3.Connection(server, user=o.bind_dn, password=password,
                                read_only=True, auto_referrals=False, raise_exceptions=False,
                                receive_timeout=max(1, round(o.timeout)),
                                return_empty_attributes=False)
        try:
            conn.open()
            if o.starttls and not conn.start_tls():
                raise SourceError(f"{o.url}: StartTLS failed: {conn.result.get('description')}")
            if not conn.bind():
                result = conn.result or {}
                who = o.bind_dn or "an anonymous bind"
                if result.get("result") == _RESULT_INVALID_CREDENTIALS:
                    raise SourceCredentialsRejected(
                        f"{o.url}: the directory refused the bind of {who} "
                        f"(invalidCredentials): check the password in ${o.password_env}")
                raise SourceError(f"{o.url}: the bind of {who} failed: "
                                  f"{result.get('description')} {result.get('message', '')}"
                                  .rstrip())
        except exceptions.LDAPSocketOpenError as exc:
            raise SourceError(f"{o.url}: cannot connect: {_reason(exc)}") from None
        except (exceptions.LDAPStartTLSError, ssl.SSLError) as exc:
            raise SourceError(f"{o.url}: TLS failed: {_reason(exc)}") from None
        except exceptions.LDAPException as exc:
            raise SourceError(f"{o.url}: {_reason(exc)}") from None
        return conn

    def _search(self, conn: Any, base: str, search_filter: str, attributes: list[str],
                read: _Read, scope: str = "SUBTREE") -> Iterator[_Entry]:
        """Every entry, page by page (RFC 2696): a result other than success (a size or time
        limit, no such base, a dropped connection) raises ``SourceError``, never a short list."""
        from ldap3.core import exceptions

        cookie: bytes | None = None
        paged = scope == "SUBTREE"
        while True:
            read.searches += 1
            try:
                conn.search(base, search_filter, search_scope=scope, attributes=attributes,
                            paged_size=self.options.page_size if paged else None,
                            paged_cookie=cookie if paged else None)
            except exceptions.LDAPException as exc:
                raise SourceError(f"{self.options.url}: the search under {base} for "
                                  f"{search_filter} failed: {_reason(exc)}") from None
            result = conn.result or {}
            if result.get("result") != 0:
                raise SourceError(f"{self.options.url}: the search under {base} for "
                                  f"{search_filter} failed ({result.get('description')}"
                                  f"{': ' + result['message'] if result.get('message') else ''})"
                                  f": nothing is deprovisioned from a partial read")
            yield from _entries(conn.response)
            if not paged:
                return
            control = (result.get("controls") or {}).get(PAGED_RESULTS)
            if control is None:
                raise SourceError(f"{self.options.url}: the server ignored the paged-results "
                                  f"control (RFC 2696): the read may be truncated")
            cookie = control["value"]["cookie"]
            if not cookie:
                return

    # --- stamps ----------------------------------------------------------------------------

    def _server_mark(self, conn: Any, read: _Read) -> tuple[list[str] | None, str | None]:
        """(the server-wide change mark, the server's identity): the suffix's contextCSN
        values (OpenLDAP), or AD's highestCommittedUSN and the DC it came from (USNs are per
        domain controller). (None, None) when the server keeps none (FreeIPA, slapd without
        syncprov): then every read with a watermark lists and fetches."""
        kind = self.options.profile.stamp_kind
        try:
            if kind == "csn":
                for entry in self._search(conn, self._naming_context(conn, read),
                                          "(objectClass=*)", ["contextCSN"], read,
                                          scope="BASE"):
                    values = sorted(v.decode("ascii", "replace")
                                    for v in entry.values("contextCSN"))
                    return (values or None), None
            if kind == "usn":
                for entry in self._search(conn, "", "(objectClass=*)",
                                          ["highestCommittedUSN", "dsServiceName"], read,
                                          scope="BASE"):
                    usn = entry.values("highestCommittedUSN")
                    dsa = entry.values("dsServiceName")
                    if usn:
                        return [usn[0].decode("ascii")], self._dc_identity(conn, read, dsa)
        except SourceError:
            pass  # the suffix or rootDSE is not readable by this account: no shortcut
        return None, None

    def _dc_identity(self, conn: Any, read: _Read, dsa: list[bytes]) -> str | None:
        """The DC the USNs come from: its NTDS Settings DN (``dsServiceName``) and that
        entry's ``invocationId``, which changes when the DC is restored from a backup (its
        USNs then go back), as Microsoft's USN-polling example keeps both: another DC, or the
        same one restored, makes the next read complete."""
        if not dsa:
            return None
        name = dsa[0].decode("utf-8", "replace")
        try:
            for entry in self._search(conn, name, "(objectClass=*)", ["invocationId"], read,
                                      scope="BASE"):
                raw = entry.values("invocationId")
                if raw and len(raw[0]) == 16:
                    return f"{name}|{uuid.UUID(bytes_le=raw[0])}"
        except SourceError:
            pass  # not readable by this account: the DC's name alone
        return name

    def _naming_context(self, conn: Any, read: _Read) -> str:
        """The suffix holding base_dn (where syncprov keeps contextCSN): the rootDSE's
        namingContexts entry that base_dn ends with, else base_dn itself."""
        base = _key(self.options.base_dn)
        try:
            for entry in self._search(conn, "", "(objectClass=*)", ["namingContexts"], read,
                                      scope="BASE"):
                for value in entry.values("namingContexts"):
                    context = value.decode("utf-8", "replace")
                    if base == _key(context) or base.endswith("," + _key(context)):
                        return context
        except SourceError:
            pass  # a rootDSE this account cannot read
        return self.options.base_dn

    def _stamp_filter(self, since: str) -> str:
        """Entries changed after ``since``. A CSN is unique to one change, so the entry that
        carried the mark itself (read last time) is left out: LDAP has no ``>``."""
        attr = self.options.profile.stamp_attribute
        if self.options.profile.stamp_kind == "csn" and "#" in since:
            return f"(&({attr}>={since})(!({attr}={since})))"
        return f"({attr}>={since})"

    def _next_stamp(self, mark: list[str] | None, newest: str | None,
                    started: float) -> str | None:
        """Where the next delta starts. With a server-wide mark taken before the read, that
        mark (its oldest value for several CSNs, so nothing of any provider is missed); else
        the newest stamp seen, less the read's duration and a margin: an entry changed during
        a paged read can carry an older stamp than one read after it."""
        kind = self.options.profile.stamp_kind
        if mark:
            if kind == "usn":
                return str(int(mark[0]) + 1)
            return mark[0]
        if newest is None:
            return None
        if kind == "usn":
            return newest  # no clock in a USN; the newest is refetched (>=)
        margin = time.monotonic() - started + _TIMESTAMP_MARGIN
        return _minus_seconds(newest, margin, csn=kind == "csn")

    # --- reads -----------------------------------------------------------------------------

    def _read(self, since: Watermark | None) -> Snapshot:
        o = self.options
        started = time.monotonic()
        read = _Read()
        previous = _parse_watermark(since, o.fingerprint)
        conn = self._connect()
        try:
            mark, server = self._server_mark(conn, read)
            if previous is not None and previous.get("server") != server:
                previous = None  # another DC: its USNs say nothing about this one's
            if previous is not None and mark is not None and previous.get("mark") == mark:
                return Snapshot(Directory(), since, complete=False, unchanged=True,
                                stats={"fetched": 0, "listed": 0})
            if previous is None or previous.get("stamp") is None:
                directory, newest = self._complete(conn, read)
                complete = True
                present = None
            else:
                directory, newest, present = self._delta(conn, read, str(previous["stamp"]),
                                                         stamps=mark is None)
                complete = False
        finally:
            conn.unbind()
        stamp = self._next_stamp(mark, newest, started)
        if stamp is None and previous is not None and not complete:
            stamp = str(previous["stamp"])
        watermark = orjson.dumps({"v": 1, "options": o.fingerprint, "server": server,
                                  "mark": mark, "stamp": stamp}).decode()
        stats = {"fetched": read.fetched, "listed": read.listed}
        if complete:
            return Snapshot(directory, watermark, stats=stats, warnings=tuple(read.warnings))
        return Snapshot(directory, watermark, complete=False, present=present, stats=stats,
                        warnings=tuple(read.warnings))

    def _full_attributes(self, kind: SourceKind) -> list[str]:
        p = self.options.profile
        attrs = ["*", p.id_attribute, p.stamp_attribute]
        if kind == "user" and p.stamp_attribute != "modifyTimestamp":
            attrs.append("modifyTimestamp")
        return attrs

    def _list_attributes(self, kind: SourceKind, stamps: bool) -> list[str]:
        """Only what the listing needs: the id, the stamp when no server mark gives the next
        watermark, and the uid that memberUid names (every attribute costs in a 100,000-entry
        listing)."""
        p = self.options.profile
        attrs = [p.id_attribute, p.stamp_attribute] if stamps else [p.id_attribute]
        if kind == "user" and p.uid_attribute:
            attrs.append(p.uid_attribute)
        return attrs

    def _complete(self, conn: Any, read: _Read) -> tuple[Directory, str | None]:
        o = self.options
        users = self._fetch(conn, read, "user", o.user_base_dn, o.user_filter)
        groups = self._fetch(conn, read, "group", o.group_base_dn, o.group_filter)
        index = _Index()
        for kind, fetched in _kinds(users, groups):
            for oid, entry in fetched.items():
                index.add(kind, oid, entry, self.options.profile.uid_attribute)
        disabled = self._ids(conn, read, "user", o.user_base_dn, o.user_filter,
                             o.disabled_filter)
        assigned = self._ids(conn, read, "group", o.group_base_dn, o.group_filter,
                             o.assigned_group_filter)
        directory = self._build(users, groups, index, disabled, assigned, read)
        return directory, _newest(self.options.profile, [*users.values(), *groups.values()])

    def _delta(self, conn: Any, read: _Read, stamp: str, stamps: bool
               ) -> tuple[Directory, str | None, frozenset[tuple[SourceKind, str]]]:
        o = self.options
        index = _Index()
        listed_users = self._list(conn, read, "user", o.user_base_dn, o.user_filter, stamps)
        listed_groups = self._list(conn, read, "group", o.group_base_dn, o.group_filter, stamps)
        for kind, entries in _kinds(listed_users, listed_groups):
            for oid, entry in entries.items():
                index.add(kind, oid, entry, self.options.profile.uid_attribute)
        changed = f"(&{o.user_filter}{self._stamp_filter(stamp)})"
        users = self._fetch(conn, read, "user", o.user_base_dn, changed)
        group_filter = o.group_filter if o.nested_groups else \
            f"(&{o.group_filter}{self._stamp_filter(stamp)})"
        groups = self._fetch(conn, read, "group", o.group_base_dn, group_filter)
        for kind, fetched in _kinds(users, groups):
            for oid, entry in fetched.items():  # created after the listing passed it
                if oid not in index.ids[kind]:
                    index.add(kind, oid, entry, self.options.profile.uid_attribute)
        disabled = self._ids(conn, read, "user", o.user_base_dn, changed, o.disabled_filter) \
            if users else set()
        assigned = self._ids(conn, read, "group", o.group_base_dn, group_filter,
                             o.assigned_group_filter) if groups else set()
        directory = self._build(users, groups, index, disabled, assigned, read)
        present: frozenset[tuple[SourceKind, str]] = frozenset(
            [*(("user", i) for i in index.ids["user"]),
             *(("group", i) for i in index.ids["group"])])
        return directory, _newest(self.options.profile,
                                  [*listed_users.values(), *listed_groups.values()]), present

    def _by_id(self, read: _Read, kind: SourceKind, entries: Iterator[_Entry]
               ) -> dict[str, _Entry]:
        p = self.options.profile
        found: dict[str, _Entry] = {}
        for entry in entries:
            raw = entry.values(p.id_attribute)
            if not raw:
                read.warnings.append(SourceWarning(kind, None, f"{entry.dn}: has no "
                                     f"{p.id_attribute} (the {p.name} id attribute): skipped"))
                continue
            try:
                oid = _object_id(p, raw)
            except (ValueError, UnicodeDecodeError) as exc:
                read.warnings.append(SourceWarning(kind, None, f"{entry.dn}: unusable "
                                     f"{p.id_attribute}: {exc}: skipped"))
                continue
            if oid in found:
                read.warnings.append(SourceWarning(kind, oid, f"{entry.dn}: the {kind} "
                                     f"{oid} was already read at {found[oid].dn}: skipped"))
                continue
            found[oid] = entry
        return found

    def _fetch(self, conn: Any, read: _Read, kind: SourceKind, base: str, filt: str
               ) -> dict[str, _Entry]:
        found = self._by_id(read, kind, self._search(conn, base, filt,
                                                     self._full_attributes(kind), read))
        for entry in found.values():
            self._ranged(conn, read, entry)
        read.fetched += len(found)
        return found

    def _list(self, conn: Any, read: _Read, kind: SourceKind, base: str, filt: str,
              stamps: bool = False) -> dict[str, _Entry]:
        found = self._by_id(read, kind, self._search(conn, base, filt,
                                                     self._list_attributes(kind, stamps), read))
        read.listed += len(found)
        return found

    def _ids(self, conn: Any, read: _Read, kind: SourceKind, base: str, filt: str,
             extra: str | None) -> set[str]:
        """The ids of the entries ``filt`` and ``extra`` select (disabled users, assigned
        groups): one id-only search, as a filter is the server's to evaluate."""
        if extra is None:
            return set()
        quiet = _Read()
        found = self._by_id(quiet, kind, self._search(
            conn, base, f"(&{filt}{extra})", [self.options.profile.id_attribute], read))
        return set(found)

    def _ranged(self, conn: Any, read: _Read, entry: _Entry) -> None:
        """AD's ranged retrieval: a group of more than 1,500 members (MaxValRange) comes back
        as ``member;range=0-1499``; ask for the next ranges until one ends in ``*``."""
        for name in list(entry.attrs):
            if ";range=" not in name:
                continue
            base_name, _, bounds = name.partition(";range=")
            values = entry.attrs.pop(name)
            entry.names.pop(name, None)
            end = bounds.split("-", 1)[1]
            while end != "*":
                start = int(end) + 1
                wanted = f"{base_name};range={start}-*"
                more: _Entry | None = None
                for got in self._search(conn, entry.dn, "(objectClass=*)", [wanted], read,
                                        scope="BASE"):
                    more = got
                key = next((k for k in (more.attrs if more else {})
                            if k.startswith(f"{base_name};range=")), None)
                if more is None or key is None:
                    raise SourceError(f"{self.options.url}: {entry.dn}: the ranged read of "
                                      f"{base_name} stopped at {start}: the read would be "
                                      f"truncated")
                values.extend(more.attrs[key])
                end = key.partition(";range=")[2].split("-", 1)[1]
            entry.attrs[base_name] = values
            entry.names[base_name] = base_name

    # --- objects ---------------------------------------------------------------------------

    def _build(self, users: dict[str, _Entry], groups: dict[str, _Entry], index: _Index,
               disabled: set[str], assigned: set[str], read: _Read) -> Directory:
        o = self.options
        directory = Directory()
        for oid, entry in users.items():
            obj = self._values(entry, o.user_attributes, "user", oid, read)
            obj["accountEnabled"] = self._enabled(entry, oid, disabled, read)
            # ``manager`` is Entra's name for the manager's objectId: the LDAP attribute of
            # that name (a DN) never reaches the engine as it is.
            obj.pop(entry.names.get("manager", "manager"), None)
            manager = entry.values("manager")
            if manager:
                dn = _decode(manager[0])
                ref = index.by_dn.get(_key(dn)) if dn is not None else None
                if ref is None or ref[0] != "user":
                    read.warnings.append(SourceWarning("user", oid, f"{entry.dn}: manager "
                                         f"{dn!r} is not a user the filters select: ignored"))
                else:
                    obj["manager"] = ref[1]
            if o.assign_all_users:
                obj["assigned"] = True
            directory.users[oid] = obj
        member_lists = {gid: self._members(entry, gid, index, read)
                        for gid, entry in groups.items()}
        if o.nested_groups:  # every group was read (see _delta), so the expansion is whole
            direct = dict(member_lists)
            member_lists = {gid: self._expand(gid, direct, index) for gid in groups}
        for gid, entry in groups.items():
            obj = self._values(entry, o.group_attributes, "group", gid, read)
            obj["members"] = member_lists[gid]
            if o.assigned_group_filter is None or gid in assigned:
                obj["assigned"] = True
            directory.groups[gid] = obj
        return directory

    def _expand(self, gid: str, direct: dict[str, list[str]], index: _Index) -> list[str]:
        """A group's users through nested groups (each group once: cycles end)."""
        users: list[str] = []
        seen_users: set[str] = set()
        seen_groups = {gid}
        pending = [gid]
        while pending:
            for member in direct.get(pending.pop(), []):
                if member in index.ids["group"]:
                    if member not in seen_groups:
                        seen_groups.add(member)
                        pending.append(member)
                elif member not in seen_users:
                    seen_users.add(member)
                    users.append(member)
        return users

    def _members(self, entry: _Entry, gid: str, index: _Index, read: _Read) -> list[str]:
        members: list[str] = []
        seen: set[str] = set()
        for attr in MEMBER_DN_ATTRIBUTES:
            for raw in entry.values(attr):
                dn = _decode(raw)
                if attr == "uniqueMember" and dn is not None:
                    dn = re.sub(r"#'[01]*'B$", "", dn)  # nameAndOptionalUID's bit string
                ref = index.by_dn.get(_key(dn)) if dn is not None else None
                if ref is None:
                    read.warnings.append(SourceWarning("group", gid, f"{entry.dn}: member "
                                         f"{dn!r} is not a user or group the filters select:"
                                         f" ignored"))
                elif ref[1] not in seen:
                    seen.add(ref[1])
                    members.append(ref[1])
        for raw in entry.values(MEMBER_UID_ATTRIBUTE):
            uid = _decode(raw)
            oid = index.by_uid.get(uid.lower()) if uid is not None else None
            if oid is None:
                read.warnings.append(SourceWarning("group", gid, f"{entry.dn}: memberUid "
                                     f"{uid!r} is not a user the filters select: ignored"))
            elif oid not in seen:
                seen.add(oid)
                members.append(oid)
        return members

    def _enabled(self, entry: _Entry, oid: str, disabled: set[str], read: _Read) -> bool:
        if self.options.profile.name == "active-directory" and \
                self.options.disabled_filter is None:
            raw = entry.values("userAccountControl")
            if not raw:
                return True
            try:
                return not int(raw[0]) & ACCOUNTDISABLE
            except ValueError:
                read.warnings.append(SourceWarning("user", oid, f"{entry.dn}: "
                                     f"userAccountControl {raw[0]!r} is not a number: taken "
                                     f"as enabled"))
                return True
        return oid not in disabled

    def _values(self, entry: _Entry, mapped: Mapping[str, tuple[str, ...]], kind: SourceKind,
                oid: str, read: _Read) -> SourceObject:
        """Every attribute by its own LDAP name (one value: a string; several: a list; those
        that are not text, e.g. jpegPhoto, left out), then Entra's names over them."""
        obj: SourceObject = {}
        skip = {a.lower() for a in (*MEMBER_DN_ATTRIBUTES, MEMBER_UID_ATTRIBUTE)} \
            if kind == "group" else set()
        for lower, raw in entry.attrs.items():
            if lower in skip or not raw:
                continue
            texts = [t for t in (_decode(v) for v in raw) if t is not None]
            if len(texts) == len(raw):
                obj[entry.names[lower]] = texts[0] if len(texts) == 1 else texts
        for name, sources in mapped.items():
            for source in sources:
                raw = entry.values(source)
                if not raw:
                    continue
                text = _decode(raw[0])
                if text is None:
                    read.warnings.append(SourceWarning(kind, oid, f"{entry.dn}: {source} "
                                         f"(for {name}) is not UTF-8 text: left out"))
                    break
                obj[name] = text
                break
        obj["objectId"] = oid
        return obj

    # --- check -----------------------------------------------------------------------------

    def _check(self) -> list[SourceCheck]:
        o = self.options
        steps: list[SourceCheck] = []
        try:
            conn = self._connect()
        except SourceError as exc:
            return [SourceCheck("bind", False, str(exc))]
        read = _Read()
        try:
            steps.append(SourceCheck("bind", True, f"{o.url}: bound as "
                                     f"{o.bind_dn or 'anonymous'}"))
            try:
                found = list(self._search(conn, o.base_dn, "(objectClass=*)", ["1.1"], read,
                                          scope="BASE"))
                steps.append(SourceCheck("base DN", bool(found), f"{o.base_dn} "
                                         f"{'found' if found else 'not found'}"))
            except SourceError as exc:
                steps.append(SourceCheck("base DN", False, str(exc)))
                return steps
            selections: tuple[tuple[SourceKind, str, str], ...] = (
                ("user", o.user_base_dn, o.user_filter),
                ("group", o.group_base_dn, o.group_filter))
            for kind, base, filt in selections:
                try:
                    n = len(self._list(conn, read, kind, base, filt))
                    steps.append(SourceCheck(f"{kind}s", True, f"{n} {kind}s selected by "
                                             f"{filt} under {base}"))
                except SourceError as exc:
                    steps.append(SourceCheck(f"{kind}s", False, str(exc)))
        finally:
            conn.unbind()
        return steps


@dataclass
class _Index:
    """DN -> (kind, id) of every selected entry (members and managers are resolved by it),
    uid -> id for posixGroup's memberUid, and the ids of each kind."""

    by_dn: dict[str, tuple[SourceKind, str]] = field(default_factory=dict)
    by_uid: dict[str, str] = field(default_factory=dict)
    ids: dict[SourceKind, set[str]] = field(
        default_factory=lambda: {"user": set(), "group": set()})

    def add(self, kind: SourceKind, oid: str, entry: _Entry, uid_attribute: str | None) -> None:
        self.by_dn[_key(entry.dn)] = (kind, oid)
        self.ids[kind].add(oid)
        if kind == "user" and uid_attribute:
            for raw in entry.values(uid_attribute)[:1]:
                uid = _decode(raw)
                if uid is not None:
                    self.by_uid[uid.lower()] = oid


def _kinds(users: dict[str, _Entry], groups: dict[str, _Entry]
           ) -> tuple[tuple[SourceKind, dict[str, _Entry]], ...]:
    return (("user", users), ("group", groups))


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _newest(profile: Profile, entries: list[_Entry]) -> str | None:
    """The newest change stamp among ``entries`` (CSNs and generalized times sort as text;
    USNs as numbers)."""
    stamps = [v.decode("ascii", "replace") for e in entries
              for v in e.values(profile.stamp_attribute)[:1]]
    if not stamps:
        return None
    if profile.stamp_kind == "usn":
        return str(max(int(s) for s in stamps if s.lstrip("-").isdigit()))
    return max(stamps)


def _minus_seconds(stamp: str, seconds: float, *, csn: bool) -> str:
    """A generalized time (``20261129005340Z``, or a CSN ``20261129005340.739410Z#...``)
    ``seconds`` earlier, in the same form, for a ``>=`` filter."""
    when = datetime.strptime(stamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    earlier = when - timedelta(seconds=int(seconds) + 1)
    text = earlier.strftime("%Y%m%d%H%M%S")
    return f"{text}.000000Z#000000#000#000000" if csn else f"{text}Z"


def _parse_watermark(since: Watermark | None, fingerprint: str) -> dict[str, Any] | None:
    """The previous read's watermark, or None (read everything) when there is none, it is not
    ours, or the options it was taken under changed."""
    if not since:
        return None
    try:
        data = orjson.loads(since)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("v") != 1 or data.get("options") != fingerprint:
        return None
    return data


def _reason(exc: BaseException) -> str:
    """An ldap3 exception's text without anything that could hold a secret (ldap3 puts no
    password in its messages; this only trims its nested reprs)."""
    text = str(exc) or type(exc).__name__
    mismatch = re.search(r"certificate \{.*\} doesn't match (?:any name in )?(.*?)\s*$",
                         text, re.S)
    if mismatch:  # ldap3 prints the whole certificate; say what is wrong instead
        names = mismatch.group(1).strip("[]'")
        return f"TLS failed: the server's certificate is not for the host name {names}"
    return text.splitlines()[0][:300]

