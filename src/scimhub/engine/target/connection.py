"""Test Connection, as Entra runs it: can this Tenant URL and Secret Token be provisioned into?

Steps, in order: the URL; ``/ServiceProviderConfig`` (a warning when absent: Entra does not
read it); the user probe and the group probe (docs/entra.md §1.2: what Entra checks, and what
quarantines its jobs); schema discovery, ``/Schemas`` and ``/ResourceTypes`` read into the
attribute list the engine binds mappings to (docs/entra.md §1.12.1; a warning when the target
advertises nothing, as the built-in schema is then used); and, when a job is given, its
mappings bound to that list: a mapping naming an attribute the target lacks fails the test, as
it would fail the job's next cycle. The first failure stops the test; warnings do not.

With a job, the job's source is proved too (its ``Source.check()``: for LDAP the bind, the base
DN found, how many users and groups the filters select; for a file, that it parses), each step
named ``source: ...``. Those run whether or not the target passed, so one run shows both ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from scimhub.engine.errors import (
    CredentialsRejected,
    EngineError,
    SchemaMismatch,
    ServiceIncompatible,
    TargetError,
)
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.target.retry import RetryPolicy
from scimhub.engine.target.schema import TargetSchema, bind_to, discover, unmapped_required
from scimhub.engine.types import Report
from scimhub.scim.schema import ResourceType

if TYPE_CHECKING:
    from scimhub.engine.config import JobConfig

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str
    warning: bool = False


@dataclass
class ConnectionReport:
    tenant_url: str
    steps: list[Step] = field(default_factory=list)
    patch_supported: bool | None = None
    #: What schema discovery found (None until that step ran).
    schema: TargetSchema | None = None

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def reason(self) -> str | None:
        """The first failed step, as one line; None when every step passed."""
        return next((f"{s.name}: {s.detail}" for s in self.steps if not s.ok), None)

    def to_dict(self) -> Report:
        return {"ok": self.ok, "reason": self.reason, "tenant_url": self.tenant_url,
                "patch_supported": self.patch_supported,
                "steps": [{"name": s.name, "ok": s.ok, "warning": s.warning, "detail": s.detail}
                          for s in self.steps]}


Check = Callable[[ScimTarget, ConnectionReport], Awaitable[Step]]


async def test_connection(base_url: str, token: str, *, timeout: float = 10.0,
                          transport: httpx.AsyncBaseTransport | None = None,
                          job: JobConfig | None = None) -> ConnectionReport:
    """Entra's Test Connection; with ``job``, its mappings are bound to the target's schema
    too (the check the job's next cycle starts with)."""
    report = ConnectionReport(base_url)
    report.steps.append(check_url(base_url))
    if not report.ok:
        return report
    checks: tuple[Check, ...] = (_service_provider_config, _user_probe, _group_probe, _schemas)
    if job is not None:
        checks += (_mappings_check(job),)
    async with ScimTarget(base_url, token, concurrency=1, timeout=timeout, transport=transport,
                          policy=RetryPolicy(max_attempts=1)) as target:
        for check in checks:
            report.steps.append(await check(target, report))
            if not report.ok:
                break
    if job is not None:
        report.steps.extend(await source_steps(job))
    return report


async def source_steps(job: JobConfig) -> list[Step]:
    """The job's ``Source.check()`` as report steps. A source that cannot even be opened (an
    option it refuses, a password variable unset) is one failed step; the message is the
    source's own, which never holds a secret."""
    from scimhub.engine.sources import open_source  # the sources import the job's config

    try:
        checks = await open_source(job.source).check()
    except EngineError as exc:
        return [Step(f"source ({job.source.type})", False, str(exc))]
    if not checks:
        return [Step(f"source ({job.source.type})", True, "nothing to check", warning=True)]
    return [Step(f"source: {c.name}", c.ok, c.detail) for c in checks]


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def check_url(base_url: str) -> Step:
    name = "Tenant URL"
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError as exc:
        return Step(name, False, f"{base_url!r} is not a URL: {exc}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Step(name, False, f"{base_url!r} is not an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        return Step(name, False, f"{base_url!r} has a query or fragment; the Tenant URL is the "
                    "SCIM base, e.g. https://app.example.com/scim/v2")
    where = f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}{parts.path}"
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        return Step(name, True, f"{where} (plain http: Entra itself only provisions over HTTPS)",
                    warning=True)
    return Step(name, True, where)


async def _service_provider_config(target: ScimTarget, report: ConnectionReport) -> Step:
    name = "ServiceProviderConfig"
    try:
        config = await target.discover("ServiceProviderConfig")
    except TargetError as exc:
        if _unanswered(exc):
            return Step(name, False, _describe(exc))
        return Step(name, True, f"{_describe(exc)} (optional: Entra does not read it)",
                    warning=True)
    patch = _field(_field(config, "patch"), "supported")
    if isinstance(patch, bool):
        report.patch_supported = patch
    if patch is True:
        return Step(name, True, "PATCH supported")
    if patch is False:
        return Step(name, True, "PATCH not supported: Entra and scimhub update with PATCH",
                    warning=True)
    return Step(name, True, "does not say whether PATCH is supported", warning=True)


async def _user_probe(target: ScimTarget, report: ConnectionReport) -> Step:
    return await _probe(target, "Users", "user probe",
                        'GET /Users?filter=userName eq "<random GUID>"')


async def _group_probe(target: ScimTarget, report: ConnectionReport) -> Step:
    return await _probe(target, "Groups", "group probe",
                        'GET /Groups?excludedAttributes=members&filter=displayName eq '
                        '"<random GUID>"')


async def _probe(target: ScimTarget, kind: str, name: str, request: str) -> Step:
    try:
        await target.probe((kind,))
    except TargetError as exc:
        return Step(name, False, _explain(exc))
    return Step(name, True, f"{request}: 200, empty ListResponse")


async def _schemas(target: ScimTarget, report: ConnectionReport) -> Step:
    name = "Schemas"
    try:
        schema = await discover(target)
    except TargetError as exc:
        return Step(name, True, f"{_describe(exc)}; scimhub's built-in schema is used",
                    warning=True)
    report.schema = schema
    listed = f"{_summary(schema.users)}; {_summary(schema.groups)}"
    if schema.origin == "built-in":
        return Step(name, True, f"{' '.join(schema.notes)} ({listed})", warning=True)
    notes = f" ({'; '.join(schema.notes)})" if schema.notes else ""
    return Step(name, True, listed + notes, warning=bool(schema.notes))


def _summary(rtype: ResourceType) -> str:
    count = sum(len(s.attributes) for s in (rtype.schema, *rtype.extensions))
    return f"{rtype.name}: {' + '.join(rtype.schema_ids)} ({count} attributes)"


def _mappings_check(job: JobConfig) -> Check:
    async def check(target: ScimTarget, report: ConnectionReport) -> Step:
        name = "mappings"
        if report.schema is None:
            return Step(name, True, "not checked: the target's schema could not be read",
                        warning=True)
        try:
            bound = bind_to(job, report.schema)
        except SchemaMismatch as exc:
            return Step(name, False, "; ".join(exc.problems))
        missing = (unmapped_required(bound.user_mappings, bound.user_type)
                   + unmapped_required(bound.group_mappings, bound.group_type))
        count = len(bound.user_mappings) + len(bound.group_mappings)
        if missing:
            return Step(name, True, f"{count} mappings bound; the target requires "
                        f"{', '.join(missing)}, which no mapping gives", warning=True)
        return Step(name, True, f"{count} mappings of job {job.name} bound to the target's "
                    "attributes")
    return check


def _explain(exc: TargetError) -> str:
    if isinstance(exc, CredentialsRejected):
        return f"{exc.status} {exc.code}: the token was rejected ({exc.detail})"
    if exc.status == 404:
        return (f"404 instead of 200 with an empty ListResponse; docs/entra.md §1.2: 404 here "
                f"quarantines the job ({exc.detail})")
    return _describe(exc)


def _describe(exc: TargetError) -> str:
    if isinstance(exc, ServiceIncompatible):
        return f"an answer Entra could not read: {exc.detail}"
    if _unanswered(exc):
        return f"the server cannot be reached: {exc.detail}"
    return f"{exc.status} {exc.code}: {exc.detail}"


def _unanswered(exc: TargetError) -> bool:
    return exc.status is None and not isinstance(exc, ServiceIncompatible)


def _field(obj: Any, name: str) -> Any:
    """A SCIM attribute, whose name is case-insensitive (RFC 7643 §2.1)."""
    if not isinstance(obj, dict):
        return None
    return next((v for k, v in obj.items() if k.lower() == name.lower()), None)
