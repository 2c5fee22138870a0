"""The engine at a million users: the initial cycle, the engine's peak memory, a cycle with no
change (issue 14: < 1 GB, no change < 60 s).

Writes the sample directory (bench/engine_cycle.py's, same users, groups of ``--members``
drawn at random) as JSON Lines, generated as a stream, so neither this script nor the engine
ever holds it whole: the file source keeps a ``.jsonl`` export on disk (engine/sources/
lines.py). Starts ``scimhub serve`` on SQLite, then runs each cycle in a process of its own
(``scimhub.engine.runner.run_once``, the engine's state on SQLite) whose peak RSS (VmHWM) is
the engine's. Verifies the end state: the counts in the target, a sample of users (every
mapped value) and of groups (every member).

    .venv/bin/python bench/engine_scale.py [--users 1000000] [--groups 10000] [--members 50]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.engine_cycle import create_tenant, job_toml, start_server

from scimhub.engine.sample import sample_groups, sample_user, write_sample_lines

SOURCE = 'type = "file"\npath = "directory.jsonl"'


def child(job_file: Path, database: str) -> None:
    """One cycle in this process; prints its summary and this process's peak RSS as JSON."""
    from scimhub.engine.config import load_jobs
    from scimhub.engine.runner import run_once
    from scimhub.store.database import Database

    [job] = load_jobs(job_file)
    cpu = time.process_time()
    summary = asyncio.run(run_once(job, Database(database)))
    status = Path("/proc/self/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines()
               if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": summary.duration_s, "requests": summary.requests,
                      "failures": summary.failures, "counts": dict(summary.counts),
                      "error": summary.error, "peak_rss_mb": hwm / 1024,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "engine_cpu_s": time.process_time() - cpu}))


def cycle(name: str, workdir: Path, database: str, env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", str(workdir / "job.toml"),
                          database], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{name}: the engine failed:\n{out.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    report["wall_s"] = time.perf_counter() - started
    print(f"{name:<10} {report['seconds']:>8.1f} s  {report['requests']:>9,} requests  "
          f"{report['failures']} failures  peak RSS {report['peak_rss_mb']:,.0f} MiB  "
          f"engine CPU {report['engine_cpu_s']:.0f} s  {report['counts']}  "
          f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    if report["error"] or report["failures"]:
        raise SystemExit(f"{name}: {report['error'] or 'failures'}")
    return report


def verify(scim_url: str, token: str, users: int, groups: int, members: int,
           sample: int = 200) -> None:
    """Counts, ``sample`` users with their mapped values, and 20 groups with every member."""
    http = httpx.Client(base_url=scim_url, headers={"Authorization": f"Bearer {token}"},
                        timeout=120)

    def total(kind: str) -> int:
        return int(http.get(f"/{kind}", params={"count": 0}).json()["totalResults"])

    if (found := total("Users")) != users or (found_groups := total("Groups")) != groups:
        raise SystemExit(f"end state: {total('Users')} users, {total('Groups')} groups in the "
                         f"target; {users}, {groups} in the source")
    rng = random.Random(1)
    ids: dict[str, str] = {}

    def user_id(i: int) -> str:
        upn = str(sample_user(i)["userPrincipalName"])
        body = http.get("/Users", params={"filter": f'userName eq "{upn}"'}).json()
        if body["totalResults"] != 1:
            raise SystemExit(f"end state: {upn} is in the target {body['totalResults']} times")
        user = body["Resources"][0]
        source = sample_user(i)
        phones = {p["type"]: p["value"] for p in user.get("phoneNumbers", [])}
        if (user["name"]["familyName"], phones.get("mobile"), user["active"]) != (
                source["surname"], source["mobile"], True):
            raise SystemExit(f"end state: {upn} holds {user}, not the source's {source}")
        ids[f"user-{i:06}"] = user["id"]
        return str(user["id"])

    for i in rng.sample(range(users), min(sample, users)):
        user_id(i)
    checked = set(rng.sample(range(groups), min(20, groups)))
    memberships = 0
    for g, group in enumerate(sample_groups(users, groups, members)):
        if g not in checked:
            continue
        body = http.get("/Groups", params={
            "filter": f'displayName eq "{group["displayName"]}"'}).json()
        [resource_] = body["Resources"]
        held = {m["value"] for m in resource_.get("members", [])}
        wanted = {ids.get(m) or user_id(int(m.removeprefix("user-"))) for m in group["members"]}
        if held != wanted:
            raise SystemExit(f"end state: {group['displayName']} holds {len(held)} members, "
                             f"the source {len(wanted)}")
        memberships += len(held)
    print(f"verified: {found:,} users and {found_groups:,} groups in the target; {len(ids):,} "
          f"users and {len(checked)} groups ({memberships:,} memberships) as in the source")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), sys.argv[3])
        return
    from bench.engine_cycle import arguments  # the same options as the 100k bench

    from scimhub.store.database import Database
    from scimhub.store.migrate import migrate

    parser = arguments(__doc__ or "")
    parser.set_defaults(users=1_000_000, groups=10_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "SCIMHUB_DATABASE_URL": f"sqlite:///{workdir}/scimhub.db",
               "SCIMHUB_KEY_FILE": str(workdir / "key")}
        token = create_tenant(env, "bench")["token"]
        env["BENCH_TOKEN"] = token
        started = time.perf_counter()
        write_sample_lines(workdir / "directory.jsonl", args.users, args.groups, args.members)
        memberships = args.groups * min(args.members, args.users)
        print(f"directory: {args.users:,} users, {args.groups:,} groups, {memberships:,} "
              f"memberships, written in {time.perf_counter() - started:.0f} s "
              f"({(workdir / 'directory.jsonl').stat().st_size / 2**20:,.0f} MB of JSON Lines)",
              flush=True)
        engine_db = f"sqlite:///{workdir}/engine.db"
        migrate(Database(engine_db))
        server, scim_url = start_server(workdir, env)
        try:
            (workdir / "job.toml").write_text(job_toml("scale", scim_url, args.concurrency,
                                                       source=SOURCE))
            report = {"initial": cycle("initial", workdir, engine_db, env)}
            verify(scim_url, token, args.users, args.groups, args.members)
            report["no_change"] = cycle("no change", workdir, engine_db, env)
        finally:
            server.terminate()
            server.wait(timeout=60)
    peak = max(r["peak_rss_mb"] for r in report.values())
    print(f"targets: engine peak RSS < 1,024 MiB (here {peak:,.0f} MiB), no change < 60 s "
          f"(here {report['no_change']['seconds']:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print("reproduce: " + shlex.join([sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
