"""scim2-tester, the python-scim project's conformance checker, against the real server."""

from __future__ import annotations

from collections import Counter

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.e2e.server import ServerProcess

FAILING = {Status.ERROR, Status.CRITICAL}


def test_scim2_tester_reports_no_failures(server: ServerProcess) -> None:
    token = server.tenants["contoso"]["token"]  # type: ignore[attr-defined]
    with httpx2.Client(base_url=server.scim_url,
                       headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        results = check_server(SyncSCIMClient(http))
    counts = Counter(r.status.name for r in results)
    print(f"scim2-tester: {len(results)} checks: {dict(counts)}")
    for r in results:
        if r.status not in (Status.SUCCESS, Status.SKIPPED):
            print(f"  {r.status.name} [{r.resource_type}] {r.title}: {r.reason}")
    failures = [f"{r.status.name} [{r.resource_type}] {r.title}: {r.reason}"
                for r in results if r.status in FAILING]
    assert results, "scim2-tester ran no check"
    assert not failures, "\n".join(failures)
