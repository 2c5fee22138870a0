"""Replay Microsoft Entra ID's SCIM provisioning workload against a SCIM 2.0 server.

Entra's provisioning service does not bulk-load: it probes each object with a filter,
creates it, then patches attributes and group memberships with many small PATCH
requests whose shapes are quirky (capitalised ``op`` names, value-filtered paths).
A throughput number is only meaningful for an Entra-backed deployment if it is
measured with exactly those request shapes, so this script reproduces them and times
each phase separately, then verifies the server's final state (a fast server that
loses writes must not look good).

Usage (project venv, server already running):

    .venv/bin/python bench/entra_workload.py --url http://127.0.0.1:8000/scim/v2 \\
        --token "$SCIM_TOKEN" --label scimhub --json bench/results/scimhub.json

The client is deliberately lean (one shared aiohttp session, orjson, no models):
the machine has 2 cores, and every cycle the client burns is taken from the server.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import shlex
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter, process_time
from typing import Any, TypeVar
from urllib.parse import quote_plus

import aiohttp
import orjson

T = TypeVar("T")

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"
PHASES = ("users", "patch", "disable", "groups", "members", "remove", "list")
PATCH_OK = (200, 204)
MAX_SAMPLES = 3
MAX_PROBLEMS_SHOWN = 10


# --------------------------------------------------------------------------- stats


@dataclass
class PhaseStats:
    """Latencies and failures of one phase; kept as plain lists to stay cheap per request."""

    name: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    unexpected: int = 0
    samples: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        """Count an unexpected answer, keeping the first few so a failure is diagnosable."""
        self.unexpected += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(what[:600])


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: no interpolation, so p99 is a latency that really happened."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(requests: int, seconds: float, latencies: list[float]) -> dict[str, float]:
    """Reduce one set of measurements to the figures reported per phase and overall."""
    ordered = sorted(latencies)
    return {
        "requests": requests,
        "seconds": round(seconds, 4),
        "rps": round(requests / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
    }


# --------------------------------------------------------------------------- context


@dataclass
class Workload:
    """Run-wide state: the client, the parameters, and what the server should now hold."""

    client: Client
    args: argparse.Namespace
    stats: dict[str, PhaseStats] = field(default_factory=dict)
    user_ids: list[str | None] = field(default_factory=list)
    group_ids: list[str | None] = field(default_factory=list)
    members: list[set[str]] = field(default_factory=list)
    listed_ids: set[str] = field(default_factory=set)

    def op(self, name: str) -> str:
        """Entra sends ``Add``/``Replace``/``Remove``; ``--lowercase-ops`` is the escape hatch."""
        return name.lower() if self.args.lowercase_ops else name

    def user_name(self, i: int) -> str:
        """The run prefix keeps repeated runs against one server from colliding."""
        return f"bench-user-{self.args.prefix}-{i}@contoso.example"

    def group_name(self, g: int) -> str:
        """Same prefix rule as users, so group probes of a new run find nothing."""
        return f"bench-group-{self.args.prefix}-{g}"

    def disabled(self, i: int) -> bool:
        """Which users the ``disable`` phase turns off (0 disables nobody)."""
        every: int = self.args.disable_every
        return every > 0 and i % every == 0

    def member_indices(self, g: int) -> list[int]:
        """Deterministic, distinct member choice so the expected state is reproducible."""
        users: int = self.args.users
        return [(g * 37 + k) % users for k in range(self.args.members)]

    async def call(
        self,
        phase: PhaseStats,
        method: str,
        url: str,
        expect: Sequence[int],
        body: object = None,
    ) -> tuple[int, bytes]:
        """Send one request, record its latency, and note any unexpected status.

        Transport errors count as status 0 rather than aborting the run: a benchmark
        that dies on the first reset connection tells us nothing about the rest.
        """
        content = None if body is None else orjson.dumps(body)
        start = perf_counter()
        try:
            status, body_bytes = await self.client.request(method, url, content)
        except (aiohttp.ClientError, TimeoutError) as exc:
            phase.latencies.append(perf_counter() - start)
            phase.note(f"{method} {url} -> {type(exc).__name__}: {exc}")
            return 0, b""
        phase.latencies.append(perf_counter() - start)
        if status not in expect:
            phase.note(f"{method} {url} -> {status}: {body_bytes.decode(errors='replace')}")
        return status, body_bytes


async def bounded(concurrency: int, items: Iterable[T], fn: Callable[[T], Awaitable[None]]) -> None:
    """Run ``fn`` over ``items`` with at most ``concurrency`` in flight.

    A fixed pool of workers sharing one iterator is cheaper than a task plus a
    semaphore per item, which matters when the client shares 2 cores with the server.
    """
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:
            await fn(item)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))


def filter_query(attribute: str, value: str) -> str:
    """Encode ``attr eq "value"`` as Entra does: spaces as ``+``, quotes as ``%22``."""
    return "filter=" + quote_plus(f'{attribute} eq "{value}"')


def check_empty_probe(phase: PhaseStats, what: str, status: int, content: bytes) -> None:
    """A probe must find nothing; a hit means the prefix collided or the filter is wrong."""
    if status != 200:
        return
    try:
        total = orjson.loads(content).get("totalResults")
    except (orjson.JSONDecodeError, AttributeError):
        total = None
    if total != 0:
        phase.note(f"probe {what}: expected totalResults 0, got {total!r}")


def created_id(phase: PhaseStats, status: int, content: bytes) -> str | None:
    """Extract the server-assigned id of a 201, which every later phase addresses."""
    if status != 201:
        return None
    try:
        rid = orjson.loads(content).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        rid = None
    if not isinstance(rid, str):
        phase.note(f"201 without a string id: {content[:200]!r}")
        return None
    return rid


# --------------------------------------------------------------------------- phases


def user_body(w: Workload, i: int) -> dict[str, Any]:
    """Entra's create-user body, field for field (including the empty ``roles``)."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": str(uuid.uuid4()),
        "userName": w.user_name(i),
        "active": True,
        "displayName": f"Given{i} Family{i}",
        "emails": [{"primary": True, "type": "work", "value": w.user_name(i)}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"Given{i} Family{i}", "familyName": f"Family{i}",
                 "givenName": f"Given{i}"},
        "roles": [],
    }


async def phase_users(w: Workload, phase: PhaseStats) -> None:
    """Probe-then-create per user, sequential within a user as Entra does it."""

    async def one(i: int) -> None:
        url = "/Users?" + filter_query("userName", w.user_name(i))
        status, content = await w.call(phase, "GET", url, (200,))
        check_empty_probe(phase, w.user_name(i), status, content)
        status, content = await w.call(phase, "POST", "/Users", (201,), user_body(w, i))
        w.user_ids[i] = created_id(phase, status, content)

    await bounded(w.args.concurrency, range(w.args.users), one)


def patch(ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Wrap operations in the PatchOp message envelope."""
    return {"schemas": [PATCH_SCHEMA], "Operations": ops}


async def phase_patch(w: Workload, phase: PhaseStats) -> None:
    """Attribute updates: a plain sub-attribute path and Entra's value-filtered email path."""

    async def one(i: int) -> None:
        uid = w.user_ids[i]
        if uid is None:
            return
        body = patch([
            {"op": w.op("Replace"), "path": "name.familyName", "value": f"Changed{i}"},
            {"op": w.op("Replace"), "path": 'emails[type eq "work"].value',
             "value": f"changed-{i}@contoso.example"},
        ])
        await w.call(phase, "PATCH", f"/Users/{uid}", PATCH_OK, body)

    await bounded(w.args.concurrency, range(w.args.users), one)


async def phase_disable(w: Workload, phase: PhaseStats) -> None:
    """Soft-delete as Entra does on unassignment (boolean false, aadOptscim062020 shape)."""
    body = patch([{"op": w.op("Replace"), "path": "active", "value": False}])

    async def one(i: int) -> None:
        uid = w.user_ids[i]
        if uid is not None:
            await w.call(phase, "PATCH", f"/Users/{uid}", PATCH_OK, body)

    await bounded(w.args.concurrency, [i for i in range(w.args.users) if w.disabled(i)], one)


async def phase_groups(w: Workload, phase: PhaseStats) -> None:
    """Probe (members excluded, as Entra asks) then create each group."""

    async def one(g: int) -> None:
        name = w.group_name(g)
        url = "/Groups?excludedAttributes=members&" + filter_query("displayName", name)
        status, content = await w.call(phase, "GET", url, (200,))
        check_empty_probe(phase, name, status, content)
        body = {"schemas": [GROUP_SCHEMA], "externalId": str(uuid.uuid4()),
                "displayName": name, "meta": {"resourceType": "Group"}}
        status, content = await w.call(phase, "POST", "/Groups", (201,), body)
        w.group_ids[g] = created_id(phase, status, content)

    await bounded(w.args.concurrency, range(w.args.groups), one)


async def phase_members(w: Workload, phase: PhaseStats) -> None:
    """Add members in batches; batches of one group go in order, groups run concurrently.

    Serialising within a group avoids measuring lost-update races instead of throughput.
    """
    batch: int = w.args.batch_size

    async def one(g: int) -> None:
        gid = w.group_ids[g]
        if gid is None:
            return
        ids = [uid for k in w.member_indices(g) if (uid := w.user_ids[k]) is not None]
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            body = patch([{"op": w.op("Add"), "path": "members",
                           "value": [{"value": uid} for uid in chunk]}])
            status, _ = await w.call(phase, "PATCH", f"/Groups/{gid}", PATCH_OK, body)
            if status in PATCH_OK:
                w.members[g].update(chunk)

    await bounded(w.args.concurrency, range(w.args.groups), one)


def removal_indices(members: int, remove: int) -> list[int]:
    """Spread removals across the member list rather than always the first few."""
    remove = min(remove, members)
    return [k * members // remove for k in range(remove)] if remove else []


async def phase_remove(w: Workload, phase: PhaseStats) -> None:
    """One PATCH per removed member with Entra's ``members[value eq "id"]`` path."""

    async def one(g: int) -> None:
        gid = w.group_ids[g]
        if gid is None:
            return
        indices = w.member_indices(g)
        for k in removal_indices(len(indices), w.args.remove_per_group):
            uid = w.user_ids[indices[k]]
            if uid is None:
                continue
            body = patch([{"op": w.op("Remove"), "path": f'members[value eq "{uid}"]'}])
            status, _ = await w.call(phase, "PATCH", f"/Groups/{gid}", PATCH_OK, body)
            if status in PATCH_OK:
                w.members[g].discard(uid)

    await bounded(w.args.concurrency, range(w.args.groups), one)


def page_ids(phase: PhaseStats, content: bytes) -> tuple[int | None, list[str]]:
    """Parse a ListResponse page into (totalResults, ids)."""
    try:
        data = orjson.loads(content)
        resources = data.get("Resources") or []
        return data.get("totalResults"), [r["id"] for r in resources]
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError) as exc:
        phase.note(f"unparsable ListResponse ({exc}): {content[:200]!r}")
        return None, []


async def phase_list(w: Workload, phase: PhaseStats) -> None:
    """Page through every user; after page 1 the total is known, so pages go concurrently."""
    size: int = w.args.page_size
    status, content = await w.call(phase, "GET", f"/Users?startIndex=1&count={size}", (200,))
    total, ids = page_ids(phase, content) if status == 200 else (None, [])
    w.listed_ids.update(ids)
    if not isinstance(total, int):
        return

    async def one(start: int) -> None:
        status, content = await w.call(
            phase, "GET", f"/Users?startIndex={start}&count={size}", (200,))
        if status == 200:
            w.listed_ids.update(page_ids(phase, content)[1])

    await bounded(w.args.concurrency, range(1 + size, total + 1, size), one)


PHASE_FUNCS: dict[str, Callable[[Workload, PhaseStats], Awaitable[None]]] = {
    "users": phase_users, "patch": phase_patch, "disable": phase_disable,
    "groups": phase_groups, "members": phase_members, "remove": phase_remove,
    "list": phase_list,
}


# --------------------------------------------------------------------------- verify


@dataclass
class Verification:
    """Mismatches between what the server holds and what the workload wrote."""

    problems: list[str] = field(default_factory=list)
    count: int = 0

    def fail(self, what: str) -> None:
        """Record a mismatch; keep only a few texts but count them all."""
        self.count += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(what[:400])


def work_email(user: dict[str, Any]) -> str | None:
    """The value of the ``type: work`` email, which the patch phase rewrote."""
    for email in user.get("emails") or []:
        if isinstance(email, dict) and email.get("type") == "work":
            value = email.get("value")
            return value if isinstance(value, str) else None
    return None


def check_user(w: Workload, v: Verification, i: int, user: dict[str, Any]) -> None:
    """Compare one user with the patched and disabled state it should have."""
    family = (user.get("name") or {}).get("familyName")
    if family != f"Changed{i}":
        v.fail(f"user {i}: familyName {family!r} != 'Changed{i}'")
    email = work_email(user)
    if email != f"changed-{i}@contoso.example":
        v.fail(f"user {i}: work email {email!r} != 'changed-{i}@contoso.example'")
    active = user.get("active")
    if active is not (not w.disabled(i)):
        v.fail(f"user {i}: active {active!r}, expected {not w.disabled(i)}")
    if user.get("userName") != w.user_name(i):
        v.fail(f"user {i}: userName {user.get('userName')!r} != {w.user_name(i)!r}")


async def fetch_json(w: Workload, v: Verification, url: str) -> dict[str, Any] | None:
    """GET a resource for verification (not timed: it is not part of Entra's workload)."""
    try:
        status, content = await w.client.request("GET", url)
    except (aiohttp.ClientError, TimeoutError) as exc:
        v.fail(f"GET {url}: {type(exc).__name__}: {exc}")
        return None
    if status != 200:
        v.fail(f"GET {url} -> {status}: {content[:200].decode(errors='replace')}")
        return None
    data = orjson.loads(content)
    return data if isinstance(data, dict) else None


async def verify_users(w: Workload, v: Verification) -> None:
    """Every user exists by id, carries the patched values, and was seen by the listing."""

    async def one(i: int) -> None:
        uid = w.user_ids[i]
        if uid is None:
            v.fail(f"user {i}: never created")
            return
        if uid not in w.listed_ids:
            v.fail(f"user {i} ({uid}): missing from the paged listing")
        user = await fetch_json(w, v, f"/Users/{uid}")
        if user is not None:
            check_user(w, v, i, user)

    await bounded(w.args.concurrency, range(w.args.users), one)


def expected_members(w: Workload, g: int) -> set[str]:
    """Members a correct server holds: all added minus the removed, from the plan itself.

    Computed from the plan rather than from successful calls, so a rejected PATCH shows
    up as a verification failure too, not only as an unexpected status.
    """
    indices = w.member_indices(g)
    removed = {indices[k] for k in removal_indices(len(indices), w.args.remove_per_group)}
    return {uid for k in indices if k not in removed and (uid := w.user_ids[k]) is not None}


async def verify_groups(w: Workload, v: Verification) -> None:
    """Every group's member id set equals the expected one."""

    async def one(g: int) -> None:
        gid = w.group_ids[g]
        if gid is None:
            v.fail(f"group {g}: never created")
            return
        group = await fetch_json(w, v, f"/Groups/{gid}")
        if group is None:
            return
        got = {m.get("value") for m in group.get("members") or [] if isinstance(m, dict)}
        want = expected_members(w, g)
        if got != want:
            v.fail(f"group {g}: {len(got)} members, expected {len(want)}; "
                   f"{len(want - got)} missing, {len(got - want)} extra")

    await bounded(w.args.concurrency, range(w.args.groups), one)


# --------------------------------------------------------------------------- output


def reproduce_command(args: argparse.Namespace) -> str:
    """The command that reruns this measurement (fresh prefix; token left as a variable)."""
    parts = [sys.executable, sys.argv[0], "--url", args.url]
    for flag in ("users", "groups", "members", "concurrency", "disable_every",
                 "remove_per_group", "page_size", "batch_size", "label"):
        parts += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    if args.lowercase_ops:
        parts.append("--lowercase-ops")
    cmd = shlex.join(parts)
    return f"SCIM_TOKEN=<token> {cmd}" if args.token else cmd


def build_report(w: Workload, v: Verification, seconds_verify: float,
                 client_cpu: float) -> dict[str, Any]:
    """Everything printed, as one JSON-serialisable dict (also the ``--json`` payload)."""
    phases = {name: {**summarize(len(s.latencies), s.seconds, s.latencies),
                     "unexpected": s.unexpected, "samples": s.samples}
              for name, s in w.stats.items()}
    all_lat = [x for s in w.stats.values() for x in s.latencies]
    overall = summarize(len(all_lat), sum(s.seconds for s in w.stats.values()), all_lat)
    overall["unexpected"] = sum(s.unexpected for s in w.stats.values())
    overall["client_cpu_s"] = round(client_cpu, 2)
    params = {k: getattr(w.args, k) for k in (
        "users", "groups", "members", "concurrency", "disable_every", "remove_per_group",
        "page_size", "batch_size", "prefix")}
    return {
        "label": w.args.label, "url": w.args.url, "params": params,
        "ops": "lower-case (add/replace/remove)" if w.args.lowercase_ops
        else "Entra capitalised (Add/Replace/Remove)",
        "phases": phases, "overall": overall,
        "verification": {"passed": v.count == 0, "problems": v.count,
                         "first_problems": v.problems, "seconds": round(seconds_verify, 2)},
        "command": reproduce_command(w.args),
    }


def format_row(name: str, row: dict[str, Any]) -> str:
    """One aligned table line."""
    return (f"{name:<9}{row['requests']:>9}{row['seconds']:>9.2f}{row['rps']:>9.1f}"
            f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['unexpected']:>11}")


def print_report(report: dict[str, Any]) -> None:
    """Human-readable table, unexpected-answer samples, and the verification verdict."""
    p = report["params"]
    print(f"\n== {report['label']}  {report['url']}")
    print(f"   users={p['users']} groups={p['groups']} members={p['members']} "
          f"concurrency={p['concurrency']} prefix={p['prefix']} ops={report['ops']}")
    print(f"{'phase':<9}{'requests':>9}{'seconds':>9}{'req/s':>9}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'unexpected':>11}")
    for name, row in report["phases"].items():
        print(format_row(name, row))
    overall = report["overall"]
    print(format_row("overall", overall))
    busy = overall["client_cpu_s"] / overall["seconds"] * 100 if overall["seconds"] else 0.0
    print(f"client CPU: {overall['client_cpu_s']:.2f} s during the phases "
          f"({busy:.0f}% of one core, taken from the 2 the server also uses)")
    for name, row in report["phases"].items():
        for sample in row["samples"]:
            print(f"   ! {name}: {sample}")
    ver = report["verification"]
    verdict = "PASS" if ver["passed"] else f"FAIL ({ver['problems']} problems)"
    print(f"verification: {verdict}  [{ver['seconds']} s]")
    for problem in ver["first_problems"]:
        print(f"   ! {problem}")
    print(f"reproduce: {report['command']}")


def capitalised_hint(report: dict[str, Any], lowercase: bool) -> None:
    """Name the likely cause when PATCHes fail with Entra's capitalised ops."""
    patch_phases = ("patch", "disable", "members", "remove")
    if not lowercase and any(report["phases"][n]["unexpected"] for n in patch_phases):
        print("note: PATCHes with capitalised ops were rejected; if the target does not "
              "accept Entra's 'Add'/'Replace'/'Remove', rerun with --lowercase-ops")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """CLI flags; URL and token may come from SCIM_URL / SCIM_TOKEN."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=os.environ.get("SCIM_URL"),
                    help="SCIM base URL, e.g. http://127.0.0.1:8000/scim/v2 (env SCIM_URL)")
    ap.add_argument("--token", default=os.environ.get("SCIM_TOKEN"),
                    help="bearer token (env SCIM_TOKEN); omitted header if empty")
    ap.add_argument("--label", default="target", help="name of the target in the output")
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--groups", type=int, default=50)
    ap.add_argument("--members", type=int, default=200, help="members per group")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--disable-every", type=int, default=10,
                    help="disable one user in N (0: none)")
    ap.add_argument("--remove-per-group", type=int, default=5)
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=100, help="members per Add PATCH")
    ap.add_argument("--prefix", default=secrets.token_hex(4),
                    help="run prefix in userNames/displayNames (default: random)")
    ap.add_argument("--lowercase-ops", action="store_true",
                    help="send add/replace/remove instead of Entra's Add/Replace/Remove")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request timeout, s")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    if not args.url:
        ap.error("--url (or SCIM_URL) is required")
    if not 0 < args.members <= args.users:
        ap.error("--members must be between 1 and --users")
    if min(args.users, args.groups, args.concurrency, args.page_size, args.batch_size) < 1:
        ap.error("--users, --groups, --concurrency, --page-size, --batch-size must be >= 1")
    return args


class Client:
    """One keep-alive aiohttp session sized to the concurrency.

    aiohttp rather than httpx: its C-accelerated HTTP parser costs the client a
    fraction of the CPU per request, and on a 2-core machine every cycle the
    client spends is taken from the server being measured.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        headers = {"Accept": SCIM_JSON, "Content-Type": SCIM_JSON}
        if args.token:
            headers["Authorization"] = f"Bearer {args.token}"
        self.base = args.url.rstrip("/")
        self.session = aiohttp.ClientSession(
            headers=headers, trust_env=False,
            connector=aiohttp.TCPConnector(limit=args.concurrency, keepalive_timeout=60),
            timeout=aiohttp.ClientTimeout(total=args.timeout),
        )

    async def request(self, method: str, url: str, content: bytes | None = None
                      ) -> tuple[int, bytes]:
        async with self.session.request(method, self.base + url, data=content) as resp:
            return resp.status, await resp.read()

    async def close(self) -> None:
        await self.session.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every phase in order, timing each, then verify the end state."""
    client = Client(args)
    try:
        w = Workload(client, args, user_ids=[None] * args.users,
                     group_ids=[None] * args.groups,
                     members=[set() for _ in range(args.groups)])
        cpu = 0.0
        for name in PHASES:
            phase = w.stats[name] = PhaseStats(name)
            cpu_start = process_time()
            start = perf_counter()
            await PHASE_FUNCS[name](w, phase)
            phase.seconds = perf_counter() - start
            cpu += process_time() - cpu_start
            print(f"  {args.label}: {name} done in {phase.seconds:.2f} s", file=sys.stderr)
        v = Verification()
        start = perf_counter()
        await verify_users(w, v)
        await verify_groups(w, v)
        return build_report(w, v, perf_counter() - start, cpu)
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 only if every status was expected and the verification passed."""
    args = parse_args(argv)
    try:
        import uvloop  # the client's event loop costs CPU the server could use

        report = uvloop.run(run(args))
    except ImportError:
        report = asyncio.run(run(args))
    print_report(report)
    capitalised_hint(report, args.lowercase_ops)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    ok = report["verification"]["passed"] and report["overall"]["unexpected"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
