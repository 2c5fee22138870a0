"""The engine at scale: 100,000 users and 1,000 groups into scimhub on one machine.

Builds a sample directory (memberships drawn at random, 50 per group on
average), starts ``scimhub serve`` on SQLite, runs the initial cycle, changes 1%
of the users and runs an incremental cycle, then a cycle with no change. Prints
each cycle's duration, objects/second, requests sent, and Microsoft's published
estimate for the same objects (0.01 to 0.08 minutes per user, group and
membership, docs/entra.md §2.11).

    .venv/bin/python bench/engine_cycle.py [--users 100000] [--groups 1000] [--members 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from scimhub.engine.config import JobConfig, load_jobs
from scimhub.engine.cycle.cycle import CycleSummary
from scimhub.engine.runner import run_once
from scimhub.engine.sample import sample_directory
from scimhub.store.database import Database
from scimhub.store.migrate import migrate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.e2e.server import free_port

#: The file source: the sample directory as ``directory.json`` next to the job file.
FILE_SOURCE = 'type = "file"\npath = "directory.json"'


def job_toml(name: str, url: str, concurrency: int, *, source: str = FILE_SOURCE,
             env_var: str = "BENCH_TOKEN") -> str:
    """A benchmark job: every object in scope, the defaults' mappings, ``concurrency`` requests.

    ``env_var`` names the variable holding the target's token. Shared by the bench scripts so
    the engine runs the same job whatever the source.
    """
    return (f'[job]\nname = "{name}"\n[source]\n{source}\n[target]\nurl = "{url}"\n'
            f'token_env = "{env_var}"\nconcurrency = {concurrency}\n[scope]\nmode = "all"\n')


def create_tenant(env: dict[str, str], name: str) -> dict[str, str]:
    """``scimhub tenant create NAME --json`` against ``env``'s database: its id and token."""
    out = subprocess.run([sys.executable, "-m", "scimhub", "tenant", "create", name,
                          "--admin-email", f"a@{name}.example", "--admin-password",
                          "benchmark!", "--json"], env=env, capture_output=True, text=True,
                         check=True)
    return dict(json.loads(out.stdout))


def arguments(doc: str) -> argparse.ArgumentParser:
    """The options every bench script has: the sample directory's size and the concurrency."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    return parser


def start_server(workdir: Path, env: dict[str, str], name: str = "server"
                 ) -> tuple[subprocess.Popen[bytes], str]:
    """``scimhub serve`` on a free port, its output in ``workdir/NAME.log``; its SCIM URL."""
    port = free_port()
    log = (workdir / f"{name}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "scimhub", "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, f"{base}/scim/v2"
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"scimhub serve ({name}) did not start")


def change_one_percent(directory: dict[str, Any]) -> int:
    changed = 0
    for i, user in enumerate(directory["users"]):
        if i % 100 == 0:
            user["mobile"] = f"+1 555 9{i:06}"
            user["surname"] = user["surname"] + "-Changed"
            changed += 1
    return changed


def verify(scim_url: str, token: str, directory: dict[str, Any]) -> None:
    """The target holds exactly the directory: every user once, every group with its members
    (a fast cycle that leaves a duplicate or a gap is no result)."""
    http = httpx.Client(base_url=scim_url, headers={"Authorization": f"Bearer {token}"},
                        timeout=120)
    users = http.get("/Users", params={"count": 0}).json()["totalResults"]
    names: dict[str, str] = {}
    start = 1
    while start <= users:
        page = http.get("/Users", params={"attributes": "userName", "count": 1000,
                                          "startIndex": start}).json()["Resources"]
        names.update((u["id"], u["userName"].casefold()) for u in page)
        start += len(page)
    wanted = {u["userPrincipalName"].casefold() for u in directory["users"]}
    if users != len(wanted) or set(names.values()) != wanted:
        raise SystemExit(f"end state: {users} users in the target, {len(wanted)} in the source")
    groups: dict[str, set[str]] = {}
    start, total = 1, 1
    while start <= total:
        body = http.get("/Groups", params={"attributes": "displayName,members", "count": 100,
                                           "startIndex": start}).json()
        total = body["totalResults"]
        for g in body["Resources"]:
            groups[g["displayName"]] = {names[m["value"]] for m in g.get("members", [])}
        start += len(body["Resources"])
    upn = {u["objectId"]: u["userPrincipalName"].casefold() for u in directory["users"]}
    expected = {g["displayName"]: {upn[m] for m in g["members"]} for g in directory["groups"]}
    if groups != expected:
        raise SystemExit(f"end state: {len(groups)} groups in the target differ from the "
                         f"source's {len(expected)}")
    print(f"verified: {users:,} users, {len(groups):,} groups, "
          f"{sum(map(len, groups.values())):,} memberships, as in the source")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds (user + system) of this process, or of ``pid`` read from /proc: the engine's
    and the server's share of one cycle, whatever else the machine runs."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_cycle(job: JobConfig, engine_db: Database,
                server_pid: int) -> tuple[CycleSummary, float, float]:
    """One cycle, and the CPU seconds the engine and the server spent on it."""
    engine, server = cpu_seconds(), cpu_seconds(server_pid)
    summary = asyncio.run(run_once(job, engine_db))
    return summary, cpu_seconds() - engine, cpu_seconds(server_pid) - server


def line(name: str, timed: tuple[CycleSummary, float, float], objects: int) -> dict[str, Any]:
    summary, engine_cpu, server_cpu = timed
    rate = objects / summary.duration_s if summary.duration_s else 0
    per = max(summary.requests, 1) / 1000
    print(f"{name:<12} {summary.duration_s:>9.1f} s {rate:>10.0f} objects/s "
          f"{summary.requests:>9} requests  {summary.failures} failures  "
          f"{dict(summary.counts)}")
    print(f"{'':<12} CPU per request: engine {engine_cpu / per:.3f} ms, server "
          f"{server_cpu / per:.3f} ms (load average {os.getloadavg()[0]:.2f})")
    return {"seconds": summary.duration_s, "objects_per_s": rate,
            "requests": summary.requests, "failures": summary.failures,
            "counts": dict(summary.counts), "engine_cpu_s": engine_cpu,
            "server_cpu_s": server_cpu}


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir}/scimhub.db"
        env = {**os.environ, "SCIMHUB_DATABASE_URL": url,
               "SCIMHUB_KEY_FILE": str(workdir / "key")}
        os.environ["BENCH_TOKEN"] = create_tenant(env, "bench")["token"]
        directory = sample_directory(users=args.users, groups=args.groups,
                                     members=args.members)
        memberships = sum(len(g["members"]) for g in directory["groups"])
        objects = args.users + args.groups + memberships
        (workdir / "directory.json").write_text(json.dumps(directory))
        server, scim_url = start_server(workdir, env)
        try:
            (workdir / "job.toml").write_text(job_toml("bench", scim_url,
                                                       args.concurrency))
            [job] = load_jobs(workdir / "job.toml")
            engine_db = Database(f"sqlite:///{workdir}/engine.db")
            migrate(engine_db)
            print(f"directory: {args.users:,} users, {args.groups:,} groups, "
                  f"{memberships:,} memberships ({objects:,} objects)")
            report = {"initial": line("initial", timed_cycle(job, engine_db, server.pid),
                                      objects)}
            verify(scim_url, os.environ["BENCH_TOKEN"], directory)
            changed = change_one_percent(directory)
            (workdir / "directory.json").write_text(json.dumps(directory))
            report["incremental"] = line(f"incremental ({changed} changed)",
                                         timed_cycle(job, engine_db, server.pid), changed)
            report["no_change"] = line("no change", timed_cycle(job, engine_db, server.pid),
                                       objects)
        finally:
            server.terminate()
            server.wait(timeout=30)
    low, high = 0.01 * objects, 0.08 * objects
    print(f"Microsoft's estimate for {objects:,} objects: {low:,.0f} to {high:,.0f} minutes "
          f"(0.01-0.08 min per user, group and membership)")
    print("targets: initial < 3 min at 100,000 users (issue 14; 15 min before it), "
          "incremental < 30 s, no change < 10 s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print("reproduce: " + shlex.join([sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
