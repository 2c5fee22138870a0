"""Provisioning jobs, as written in a TOML file (one ``[job]`` per file, or ``[[jobs]]``)."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from scimhub.engine import defaults
from scimhub.engine.errors import ConfigError as ConfigError  # re-exported: its old home
from scimhub.engine.errors import MappingError
from scimhub.engine.mapping import AttributeMapping, parse_mappings
from scimhub.engine.notify import Notifications
from scimhub.engine.scoping import ScopingClause, ScopingFilter
from scimhub.rates import BadRate, Rate, parse_rate
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP, USER


@dataclass(frozen=True)
class SourceConfig:
    """``[source]``: ``type`` picks the module (engine/sources/); ``options`` is the whole table,
    which that module reads and checks (``sources.check_options``) when the job loads."""

    type: Literal["file", "ldap", "scim"]
    path: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    #: The job file's directory: relative paths in ``options`` (a CA file) are read from it.
    base: Path = Path(".")


@dataclass(frozen=True)
class TargetConfig:
    url: str
    token: str
    concurrency: int = 8
    timeout: float = 30.0
    #: ``[target] rate``: at most this many requests per window (scimhub.rates), for a target
    #: that publishes its limit; None sends as fast as ``concurrency`` allows.
    rate: Rate | None = None


@dataclass(frozen=True)
class Actions:
    """Target object actions (Entra's Create / Update / Delete checkboxes)."""

    create: bool = True
    update: bool = True
    delete: bool = True
    #: What happens to a user who leaves scope or the directory: "disable" or "delete".
    deprovision: Literal["disable", "delete"] = "disable"
    #: What happens to a user removed from the source directory while still managed: always
    #: disabled first (Entra's soft delete); "delete" then deletes it ``delete_after_seconds``
    #: later, "disable" never does (docs/entra.md §2.2).
    removed: Literal["disable", "delete"] = "delete"
    #: The delay between the soft and the hard delete of a removed user (``[actions]
    #: delete_after``, "30d" as Entra's recycle bin; "0" deletes in the same cycle).
    delete_after_seconds: float = 30 * 86400.0
    #: Entra's SkipOutOfScopeDeletions: an object leaving scope is left as it is in the target.
    skip_out_of_scope_deletions: bool = False
    #: Accidental-deletion guard: a cycle that would disable or delete more objects than
    #: this stops before the first one, until ``scimhub job allow-deletes`` (docs/entra.md §2.2).
    deletion_threshold: int = 500


@dataclass(frozen=True)
class QuarantineRules:
    """Entra's escrow thresholds (docs/entra.md §2.7), configurable under ``[quarantine]``."""

    min_failures: int = 5000
    failure_ratio: float = 0.4
    max_failures: int = 40000
    #: How often a quarantined job runs ("gradually reduced to once per day").
    interval_seconds: float = 86400.0


@dataclass(frozen=True)
class JobConfig:
    name: str
    interval_seconds: float
    source: SourceConfig
    target: TargetConfig
    scope_mode: Literal["assigned", "all"]
    scoping: tuple[ScopingFilter, ...]
    user_mappings: tuple[AttributeMapping, ...]
    group_mappings: tuple[AttributeMapping, ...]
    actions: Actions
    quarantine: QuarantineRules = field(default_factory=QuarantineRules)
    #: ``[scope] group_filters``: scoping filters for groups, in the users' syntax.
    group_scoping: tuple[ScopingFilter, ...] = ()
    notifications: Notifications | None = None
    #: Escrow: a failed object is retried after this, then twice as long each time, up to a
    #: day ("roughly 30m → 1h → 2h → 4h → 8h", docs/entra.md §1.9).
    escrow_seconds: float = 1800.0
    #: How long a worker's claim on the job lasts without renewal (renewed as it works).
    lease_seconds: float = 300.0
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)
    #: The target's Users and Groups as the mappings are bound to: scimhub's built-in
    #: schema at load, the target's own once ``engine.target.schema.bind_job`` discovered it.
    user_type: ResourceType = field(default=USER, repr=False)
    group_type: ResourceType = field(default=GROUP, repr=False)

    @property
    def fingerprint(self) -> str:
        """Changes when mappings, scope or actions change: the next cycle is then initial."""
        relevant = {k: self.raw.get(k) for k in ("mappings", "scope", "actions")}
        return hashlib.sha256(orjson.dumps(relevant, option=orjson.OPT_SORT_KEYS)).hexdigest()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str | int | float, where: str) -> float:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(f"{where}: {text!r} is not a duration like '40m', '90s' or '1h'")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    return float(match[1]) * unit


def load_jobs(path: Path) -> list[JobConfig]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    tables = data.get("jobs") or ([data] if "job" in data else [])
    if not tables:
        raise ConfigError(f"{path}: no [job] table")
    return [_job(t, path) for t in tables]


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _job(data: Mapping[str, Any], path: Path) -> JobConfig:
    job = _table(data, "job", str(path))
    name = job.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: [job] name is required")
    where = f"{path} (job {name})"
    try:
        source = _source(_table(data, "source", where), path.parent, where)
        scim = source.type == "scim"  # a SCIM source passes its users through unchanged
        return JobConfig(
            name=name,
            interval_seconds=parse_duration(job.get("interval", "40m"), f"{where} interval"),
            source=source,
            target=_target(_table(data, "target", where), where),
            scope_mode=_scope_mode(_table(data, "scope", where), where),
            scoping=_scoping(_table(data, "scope", where), where),
            group_scoping=_scoping(_table(data, "scope", where), where, "group_filters"),
            user_mappings=tuple(parse_mappings(
                _table(data, "mappings", where).get(
                    "users", defaults.SCIM_USER_MAPPINGS if scim else defaults.USER_MAPPINGS),
                USER, f"{where} mappings.users")),
            group_mappings=tuple(parse_mappings(
                _table(data, "mappings", where).get(
                    "groups", defaults.SCIM_GROUP_MAPPINGS if scim else defaults.GROUP_MAPPINGS),
                GROUP,
                f"{where} mappings.groups")),
            actions=_actions(_table(data, "actions", where), where),
            quarantine=_quarantine(_table(data, "quarantine", where), where),
            notifications=Notifications.from_table(_table(data, "notifications", where)),
            lease_seconds=parse_duration(job.get("lease", "5m"), f"{where} lease"),
            escrow_seconds=parse_duration(_table(data, "escrow", where).get("first_retry", "30m"),
                                          f"{where} escrow.first_retry"),
            raw=data,
        )
    except MappingError as exc:
        raise ConfigError(str(exc)) from None


SOURCE_TYPES = ("file", "ldap", "scim")


def _source(table: Mapping[str, Any], base: Path, where: str) -> SourceConfig:
    kind = table.get("type", "file")
    if kind not in SOURCE_TYPES:
        raise ConfigError(f"{where}: source type {kind!r} is not supported: use one of "
                          f"{', '.join(repr(t) for t in SOURCE_TYPES)}")
    if kind == "file":
        raw_path = table.get("path")
        if not isinstance(raw_path, str):
            raise ConfigError(f"{where}: [source] path is required")
        return SourceConfig("file", (base / raw_path).resolve(), dict(table), base)
    config = SourceConfig(kind, None, dict(table), base)
    from scimhub.engine.sources import check_options  # the sources import this module

    try:
        check_options(config)
    except ConfigError as exc:
        raise ConfigError(f"{where}: [source] {exc}") from None
    return config


def _target(table: Mapping[str, Any], where: str) -> TargetConfig:
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: [target] url must be the Tenant URL (http:// or https://)")
    token = table.get("token")
    if token is None and (env := table.get("token_env")):
        token = os.environ.get(str(env))
        if not token:
            raise ConfigError(f"{where}: the environment variable {env} (token_env) is not set")
    if not isinstance(token, str) or not token:
        raise ConfigError(f"{where}: [target] needs token or token_env")
    return TargetConfig(url.rstrip("/"), token, int(table.get("concurrency", 8)),
                        float(table.get("timeout", 30.0)), _rate(table.get("rate"), where))


def _rate(value: object, where: str) -> Rate | None:
    if value is None:
        return None
    try:
        return parse_rate(value if isinstance(value, str) else repr(value))
    except BadRate as exc:
        raise ConfigError(f"{where}: [target] rate: {exc}") from None


def _scope_mode(table: Mapping[str, Any], where: str) -> Literal["assigned", "all"]:
    mode = table.get("mode", "assigned")
    if mode not in ("assigned", "all"):
        raise ConfigError(f"{where}: [scope] mode is 'assigned' or 'all', not {mode!r}")
    return mode  # type: ignore[no-any-return]


def _scoping(table: Mapping[str, Any], where: str, key: str = "filters"
             ) -> tuple[ScopingFilter, ...]:
    filters = []
    for i, raw in enumerate(table.get(key, [])):
        title = str(raw.get("title", f"filter {i + 1}"))
        try:
            clauses = tuple(ScopingClause(str(c["attribute"]), str(c["operator"]),
                                          None if c.get("value") is None else str(c["value"]))
                            for c in raw.get("clauses", []))
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{where}: scope.{key}[{i}] ({title}): {exc}") from None
        filters.append(ScopingFilter(title, clauses))
    return tuple(filters)


def _actions(table: Mapping[str, Any], where: str) -> Actions:
    actions = Actions(
        create=bool(table.get("create", True)), update=bool(table.get("update", True)),
        delete=bool(table.get("delete", True)),
        deprovision=table.get("deprovision", "disable"), removed=table.get("removed", "delete"),
        deletion_threshold=int(table.get("deletion_threshold", 500)),
        delete_after_seconds=parse_duration(table.get("delete_after", "30d"),
                                            f"{where} actions.delete_after"),
        skip_out_of_scope_deletions=bool(table.get("skip_out_of_scope_deletions", False)))
    for key in ("deprovision", "removed"):
        if getattr(actions, key) not in ("disable", "delete"):
            raise ConfigError(f"{where}: [actions] {key} is 'disable' or 'delete'")
    return actions


def _quarantine(table: Mapping[str, Any], where: str) -> QuarantineRules:
    defaults = QuarantineRules()
    return QuarantineRules(
        min_failures=int(table.get("min_failures", defaults.min_failures)),
        failure_ratio=float(table.get("failure_ratio", defaults.failure_ratio)),
        max_failures=int(table.get("max_failures", defaults.max_failures)),
        interval_seconds=parse_duration(table.get("interval", "24h"),
                                        f"{where} quarantine.interval"),
    )
