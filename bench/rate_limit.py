"""What a refused request costs: tenant B's throughput alone, and while tenant A floods.

Starts ``scimhub serve --tenant-rate-limit RATE`` on SQLite with two tenants: A under the
server's limit, B with ``scimhub tenant limit B off`` (so that B's figure is the server's, not
the limit's). B sends Entra's ``userName eq`` probe at concurrency 8 for ``--seconds``, first
alone, then while A floods at concurrency 16 and is mostly refused (429). Then the same with
the counters in Redis (``--redis``, its own redis-server on a free port). Prints B's req/s
alone and during the flood, A's 429/s and 200/s, and the machine's core count: the client
shares the cores with the server, so compare the figures of one run with each other. It also
prints what each costs the server in CPU (from ``/proc``, so the client's share of the cores
does not blur it): an allowed probe (B alone) against a refused request (A alone, flooding).

    .venv/bin/python bench/rate_limit.py [--seconds 10] [--rate 50/s] [--workers 1]

Needs the ``bench`` extra (aiohttp, uvloop) and ``redis-server`` on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import free_port, scimhub_exe, start, stop, wait_ready

PROBE = 'userName eq "nobody@example.com"'


def cli(exe: str, database: str, *args: str) -> str:
    done = subprocess.run([exe, *args, "--database", database], capture_output=True,
                          text=True, check=True, timeout=120)
    return done.stdout


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    proc = start([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--dir", str(workdir)], workdir / "redis.log")
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux ``/proc``): what the server spent,
    whatever the client on the same cores did."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(workdir: Path, database: str, rate: str, workers: int,
           redis: str | None) -> Iterator[tuple[str, int]]:
    port, log = free_port(), workdir / f"serve-{'redis' if redis else 'local'}.log"
    cmd = [scimhub_exe(), "serve", "--port", str(port), "--database", database,
           "--workers", str(workers), "--tenant-rate-limit", rate]
    if redis:
        cmd += ["--redis", redis]
    proc = start(cmd, log, {**os.environ, "SCIMHUB_KEY_FILE": str(workdir / "key")})
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=120)
        yield f"http://127.0.0.1:{port}/scim/v2", proc.pid
    finally:
        stop(proc)


async def load(url: str, token: str, concurrency: int, seconds: float) -> Counter[int]:
    """``concurrency`` clients sending the probe back to back for ``seconds``."""
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def client() -> None:
            while time.monotonic() < deadline:
                async with session.get(f"{url}/Users", params={"filter": PROBE}) as answer:
                    await answer.read()
                    statuses[answer.status] += 1
        await asyncio.gather(*(client() for _ in range(concurrency)))
    return statuses


async def measure(url: str, pid: int, tokens: dict[str, str],
                  seconds: float) -> dict[str, float]:
    await load(url, tokens["B"], 8, 1.0)  # warm up: connections, caches
    cpu = cpu_seconds(pid)
    alone = await load(url, tokens["B"], 8, seconds)
    cpu_allowed = (cpu_seconds(pid) - cpu) / alone.total()
    cpu = cpu_seconds(pid)
    refused = await load(url, tokens["A"], 16, seconds)
    # Nearly all refused: the few allowed (the RATE) are charged at the allowed figure.
    cpu_refused = ((cpu_seconds(pid) - cpu - refused[200] * cpu_allowed)
                   / max(1, refused[429]))
    quiet, flood = await asyncio.gather(load(url, tokens["B"], 8, seconds),
                                        load(url, tokens["A"], 16, seconds))
    assert set(alone) == {200} and set(quiet) == {200}, (alone, quiet)
    return {"b_alone": alone[200] / seconds, "b_during_flood": quiet[200] / seconds,
            "a_200": flood[200] / seconds, "a_429": flood[429] / seconds,
            "a_other": sum(n for s, n in flood.items() if s not in (200, 429)) / seconds,
            "cpu_allowed_us": cpu_allowed * 1e6, "cpu_refused_us": cpu_refused * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", default="50/s", help="the server's --tenant-rate-limit")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvloop.install()
    exe = scimhub_exe()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="scimhub-rate-") as tmp:
        workdir = Path(tmp)
        database = f"sqlite:///{workdir / 'bench.db'}"
        os.environ["SCIMHUB_KEY_FILE"] = str(workdir / "key")
        tokens = {name: json.loads(cli(exe, database, "tenant", "create", name,
                                       "--admin-email", f"admin@{name}.example",
                                       "--admin-password", "bench password", "--json"))["token"]
                  for name in ("A", "B")}
        cli(exe, database, "tenant", "limit", "B", "off")
        with server(workdir, database, args.rate, args.workers, None) as (url, pid):
            results["in the process"] = asyncio.run(measure(url, pid, tokens, args.seconds))
        with redis_server(workdir) as redis, \
                server(workdir, database, args.rate, args.workers, redis) as (url, pid):
            results["in Redis"] = asyncio.run(measure(url, pid, tokens, args.seconds))
    print(f"\n{os.cpu_count()} cores (client and server share them); SQLite, "
          f"{args.workers} worker(s); A limited to {args.rate} at concurrency 16, "
          f"B unlimited at concurrency 8; {args.seconds:g} s each")
    print("| counters | B alone req/s | B during A's flood req/s | A 429/s | A 200/s "
          "| server CPU per allowed probe | per refused request |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for where, r in results.items():
        print(f"| {where} | {r['b_alone']:,.0f} | {r['b_during_flood']:,.0f} | "
              f"{r['a_429']:,.0f} | {r['a_200']:,.0f} | {r['cpu_allowed_us']:,.0f} µs | "
              f"{r['cpu_refused_us']:,.0f} µs |")
        if r["a_other"]:
            print(f"  (A also got {r['a_other']:.1f}/s of other statuses)")
    print("\n" + shlex.join([sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
