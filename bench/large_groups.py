"""Large groups: does a PATCH of 100 members cost the same in a group of 100,000 as of 100?

For each database (SQLite, and PostgreSQL when --postgres-url or a local server
answers), the script loads users and groups of 100, 10,000 and 100,000 members
straight through the storage layer (setup is not what is measured), starts
``scimhub serve`` on that database, and measures over HTTP, sequentially:

- PATCH adding 100 members (new ones each time),
- PATCH removing 1 member by ``members[value eq "..."]``,
- GET /Groups/{id}?excludedAttributes=members,
- GET /Groups/{id} with every member (streamed), once per group,

printing median latencies and the server's peak resident memory (VmHWM).

    .venv/bin/python bench/large_groups.py [--sizes 100,10000,100000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psycopg
from cryptography.fernet import Fernet

from scimhub.security import TokenVault
from scimhub.store import statements as q
from scimhub.store.clock import now
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.sql import dump_json
from scimhub.store.tenants import TenantStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.e2e.server import free_port

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def load(db: Database, sizes: list[int], spare: int) -> tuple[str, dict[int, str], list[str]]:
    """One tenant, users enough for the largest group plus spares, one group per size."""
    vault = TokenVault(os.environ["SCIMHUB_SECRET_KEY"].encode())
    tenant, token = TenantStore(db, vault).create(
        f"bench-{uuid.uuid4().hex[:6]}", f"{uuid.uuid4().hex[:6]}@bench.example", "benchmark!")
    total = max(sizes) + spare
    stamp = now()
    user_ids = [str(uuid.uuid4()) for _ in range(total)]
    with db.write() as tx:
        rows = []
        for i, uid in enumerate(user_ids):
            name = f"member-{i:07}@bench.example"
            rows.append({"tenant_id": tenant.id, "id": uid, **q.column_params({
                "version": 1, "created": stamp, "last_modified": stamp,
                "doc": dump_json({"userName": name, "active": True}),
                "user_name": name, "user_name_ci": name, "external_id": None,
                "display_name": None, "active": True})})
        tx.execute_many(q.USERS.insert, rows)
        group_ids = {}
        for size in sizes:
            gid = str(uuid.uuid4())
            name = f"group-of-{size}"
            tx.execute(q.GROUPS.insert, {"tenant_id": tenant.id, "id": gid, **q.column_params({
                "version": 1, "created": stamp, "last_modified": stamp,
                "doc": dump_json({"displayName": name}), "display_name": name,
                "display_name_ci": name, "external_id": None})})
            tx.execute_many(q.INSERT_MEMBER, [
                {"tenant_id": tenant.id, "group_id": gid, "member_id": m, "member_type": "User"}
                for m in user_ids[:size]])
            group_ids[size] = gid
    return token, group_ids, user_ids[max(sizes):]


@contextmanager
def serve(url: str, workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    log = (workdir / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scimhub", "serve", "--port", str(port), "--database", url],
        stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield f"{base}/scim/v2", proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure(client: httpx.Client, gid: str, spare: list[str], repeat: int,
            size: int) -> dict[str, float]:
    added: list[str] = []
    add_ms, remove_ms, get_ms = [], [], []
    for r in range(repeat):
        batch = spare[r * 100:(r + 1) * 100]
        added += batch
        body = {"schemas": [PATCH_OP], "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": m} for m in batch]}]}
        add_ms.append(timed(lambda b=body: _ok(client.patch(f"/Groups/{gid}", json=b))))
    for r in range(repeat):
        body = {"schemas": [PATCH_OP], "Operations": [
            {"op": "remove", "path": f'members[value eq "{added[r]}"]'}]}
        remove_ms.append(timed(lambda b=body: _ok(client.patch(f"/Groups/{gid}", json=b))))
    for _ in range(repeat):
        get_ms.append(timed(lambda: _ok(client.get(
            f"/Groups/{gid}", params={"excludedAttributes": "members"}))))
    full_ms = 0.0
    full = None

    def get_full() -> None:
        nonlocal full
        full = _ok(client.get(f"/Groups/{gid}"))

    full_ms = timed(get_full)
    members = len(full.json()["members"]) if full is not None else -1
    expected = size + repeat * 100 - repeat
    if members != expected:
        raise SystemExit(f"group of {size}: {members} members read back, expected {expected}")
    return {"add100_ms": statistics.median(add_ms), "remove1_ms": statistics.median(remove_ms),
            "get_excluded_ms": statistics.median(get_ms), "get_all_ms": full_ms,
            "members_after": members}


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code not in (200, 204):
        raise SystemExit(f"{response.request.method} {response.request.url} -> "
                         f"{response.status_code}: {response.text[:300]}")
    return response


def run(label: str, url: str, sizes: list[int], repeat: int, workdir: Path) -> dict[str, Any]:
    db = Database(url)
    migrate(db)
    started = time.perf_counter()
    token, group_ids, spare = load(db, sizes, spare=repeat * 100 * len(sizes))
    with db.engine.connect() as conn:
        # Planner statistics, as autovacuum (PostgreSQL) or PRAGMA optimize would gather
        # after a bulk load: without them PostgreSQL scans a 100,000-member group for an
        # IN list of 100 ids.
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    db.dispose()
    print(f"[{label}] loaded {max(sizes):,} users and {len(sizes)} groups in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    results: dict[str, Any] = {}
    with serve(url, workdir) as (scim_url, proc), httpx.Client(
            base_url=scim_url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
        for i, size in enumerate(sizes):
            mine = spare[i * repeat * 100:(i + 1) * repeat * 100]
            results[str(size)] = measure(c, group_ids[size], mine, repeat, size)
        results["peak_rss_mb"] = peak_rss_mb(proc.pid)
    return results


def postgres_url(explicit: str | None) -> str | None:
    admin = explicit or os.environ.get("SCIMHUB_TEST_POSTGRES_URL",
                                       "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"scimhub_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                         "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not available ({exc}); measuring SQLite only", file=sys.stderr)
        return None
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_postgres(url: str) -> None:
    admin = os.environ.get("SCIMHUB_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ.setdefault("SCIMHUB_SECRET_KEY", Fernet.generate_key().decode())
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        report["sqlite"] = run("sqlite", f"sqlite:///{workdir}/large.db", sizes, args.repeat,
                               workdir)
        pg = postgres_url(args.postgres_url)
        if pg is not None:
            try:
                report["postgresql"] = run("postgresql", pg, sizes, args.repeat, workdir)
            finally:
                drop_postgres(pg)
    print_report(report, sizes)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print("reproduce: " + shlex.join([sys.executable, *sys.argv]))


def print_report(report: dict[str, Any], sizes: list[int]) -> None:
    for database, results in report.items():
        print(f"\n== {database} (median of each PATCH/GET; full GET once; "
              f"server peak RSS {results['peak_rss_mb']:.0f} MB)")
        print(f"{'members':>9} {'add 100 ms':>11} {'remove 1 ms':>12} "
              f"{'GET excl ms':>12} {'GET all ms':>11}")
        for size in sizes:
            r = results[str(size)]
            print(f"{size:>9,} {r['add100_ms']:>11.2f} {r['remove1_ms']:>12.2f} "
                  f"{r['get_excluded_ms']:>12.2f} {r['get_all_ms']:>11.1f}")
        small, large = results[str(sizes[0])], results[str(sizes[-1])]
        for key in ("add100_ms", "remove1_ms", "get_excluded_ms"):
            print(f"   {key}: {sizes[-1]:,} vs {sizes[0]:,} = "
                  f"{large[key] / small[key]:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
