"""Test Connection, as Entra runs it: can this Tenant URL and Secret Token be provisioned into?"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

from scimhub.provisioning.errors import CredentialsRejected, TargetError
from scimhub.provisioning.target import RetryPolicy, ScimTarget


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str


@dataclass
class ConnectionReport:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def reason(self) -> str | None:
        return next((f"{s.name}: {s.detail}" for s in self.steps if not s.ok), None)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason,
                "steps": [{"name": s.name, "ok": s.ok, "detail": s.detail} for s in self.steps]}


async def check_connection(base_url: str, token: str, *, timeout: float = 10.0,
                          transport: httpx.AsyncBaseTransport | None = None) -> ConnectionReport:
    """The URL, then Entra's probes: a user and a group that do not exist must be found absent
    with 200 and an empty list (a 404 here is what quarantines Entra's jobs, ENTRA.md §1.2)."""
    report = ConnectionReport()
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        report.steps.append(Step("tenant URL", False, f"{base_url!r} is not an http(s) URL"))
        return report
    report.steps.append(Step("tenant URL", True, base_url))
    async with ScimTarget(base_url, token, concurrency=1, timeout=timeout, transport=transport,
                          policy=RetryPolicy(max_attempts=1)) as target:
        probe = str(uuid.uuid4())
        for name, kind, attribute in (("user probe", "Users", "userName"),
                                      ("group probe", "Groups", "displayName")):
            try:
                found = await target.find(kind, attribute, probe)
            except CredentialsRejected as exc:
                report.steps.append(Step(name, False, f"the token was rejected ({exc.status})"))
                return report
            except TargetError as exc:
                report.steps.append(Step(name, False, _explain(exc)))
                return report
            if found is not None:
                report.steps.append(Step(name, False, f"a random {attribute} matched a resource"))
                return report
            report.steps.append(Step(name, True,
                                     f"GET /{kind}?filter={attribute} eq <guid>: 200, empty"))
    return report


def _explain(exc: TargetError) -> str:
    if exc.status == 404:
        return ("404 for a filter that matches nothing; Entra expects 200 with an empty "
                "ListResponse and quarantines the job otherwise")
    if exc.status is None:
        return f"the server cannot be reached: {exc.detail}"
    return f"{exc.status} {exc.code}: {exc.detail}"
