"""What the operations themselves cost, without HTTP: PATCH, member add of 100, listing.

Runs the code a request runs below the handler (parse, apply, the store's transaction,
render, projection, orjson) in this process, on a fresh database, and prints the CPU time
(``time.process_time``) per operation: no server, no client, no middleware, so what the
figure moves with is the cost of the operation, and two source trees can be compared on a
loaded machine by running this once with each on ``PYTHONPATH`` (issue 14; the server's
whole CPU per request is ``bench/profile_server.py --sampler cpu``).

    .venv/bin/python bench/operation_costs.py [--users 2000] [--database URL]
    PYTHONPATH=/path/to/other/src .venv/bin/python bench/operation_costs.py   # the other tree

The data is the Entra workload's shape: users with a name and a work e-mail, groups of
200 members added 100 at a time (five groups per user), pages of 100 users with their
groups. Every figure is checked against the end state before it is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import orjson
from cryptography.fernet import Fernet

from scimhub.scim.patch import apply_patch, parse_patch_request, split_member_operations
from scimhub.scim.projection import Projection, apply_projection
from scimhub.scim.render import render
from scimhub.scim.resource import check_required, normalize_resource
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import PATCH_OP, Resource
from scimhub.security import TokenVault
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore

BASE = "http://127.0.0.1/scim/v2"


class Bench:
    def __init__(self, url: str, users: int, groups: int) -> None:
        self.db = Database(url)
        migrate(self.db)
        vault = TokenVault(Fernet.generate_key())
        tenant, _ = TenantStore(self.db, vault).create(
            f"bench-{os.getpid()}", f"{os.getpid()}@bench.example", "benchmark-pw")
        self.tenant = tenant.id
        self.store = ResourceStore(self.db)
        self.users = [self._create(USER, {
            "userName": f"user{i}@bench.example", "active": True, "displayName": f"User {i}",
            "externalId": f"ext{i}", "name": {"givenName": "G", "familyName": f"F{i}"},
            "emails": [{"type": "work", "value": f"user{i}@bench.example", "primary": True}],
        }) for i in range(users)]
        self.groups = [self._create(GROUP, {"displayName": f"group {g}"}) for g in range(groups)]

    def _create(self, rtype: ResourceType, body: Resource) -> str:
        return self.store.create(self.tenant, rtype, normalize_resource(body, rtype)).id

    def _patch(self, rtype: ResourceType, rid: str, body: bytes, refs: bool) -> None:
        ops = parse_patch_request(orjson.loads(body))
        attr_ops, changes = split_member_operations(ops, rtype)

        def transform(doc: Resource) -> Resource:
            patched = apply_patch(doc, attr_ops, rtype)
            check_required(patched, rtype)
            return patched

        stored = self.store.modify(self.tenant, rtype, rid, transform, changes,
                                   lambda _v: True, refs)
        if refs:
            orjson.dumps(apply_projection(render(stored, rtype, BASE), rtype, Projection()))

    def patch(self, i: int) -> None:
        """The workload's PATCH: name.familyName and the work e-mail; 200 with the user."""
        body = orjson.dumps({"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "name.familyName", "value": f"Changed{i}"},
            {"op": "Replace", "path": 'emails[type eq "work"].value',
             "value": f"changed-{i}@contoso.example"}]})
        self._patch(USER, self.users[i % len(self.users)], body, refs=True)

    def members(self, i: int) -> None:
        """Add 100 members; group g gets users [200g, 200g + 200) mod the user count."""
        group = i // 2
        start = (group * 200 + (i % 2) * 100) % len(self.users)
        chunk = (self.users + self.users)[start:start + 100]
        body = orjson.dumps({"schemas": [PATCH_OP], "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": u} for u in chunk]}]})
        self._patch(GROUP, self.groups[group], body, refs=False)

    def page(self, i: int) -> None:
        """A page of 100 users by startIndex with their groups, rendered and serialised."""
        start = (i * 100) % len(self.users) + 1
        found = self.store.search(self.tenant, USER, None, None, False, start, 100, True)
        docs = [apply_projection(render(r, USER, BASE), USER, Projection())
                for r in found.resources]
        orjson.dumps({"totalResults": found.total, "Resources": docs})


def cpu_per_call(fn: Callable[[int], Any], calls: int) -> float:
    start = time.process_time()
    for i in range(calls):
        fn(i)
    return (time.process_time() - start) / calls * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--patches", type=int, default=2000)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    groups = args.users * 5 // 200  # five groups of 200 per user, as in the workload
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args.database or f"sqlite:///{tmp}/bench.db", args.users, groups)
        figures = {
            "members (add 100)": cpu_per_call(bench.members, groups * 2),
            "patch (2 attributes)": cpu_per_call(bench.patch, args.patches),
            "list (page of 100)": cpu_per_call(bench.page, args.pages),
        }
        page = bench.store.search(bench.tenant, USER, None, None, False, 1, args.users, True)
        memberships = sum(len(r.references or ()) for r in page.resources)
        changed = sum(r.doc["name"]["familyName"].startswith("Changed") for r in page.resources)
        bench.db.dispose()
    if memberships != groups * 200 or changed != min(args.patches, args.users):
        raise SystemExit(f"end state wrong: {memberships} memberships, {changed} patched")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"CPU per operation, in process ({args.users} users, {groups} groups of 200; "
          f"load average {load}; {os.cpu_count()} cores)")
    for name, micros in figures.items():
        print(f"  {name:22s} {micros:8.0f} µs")
    print("end state verified: every membership and every PATCH read back")


if __name__ == "__main__":
    main()
