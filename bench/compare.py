"""Run the Entra workload against scim2-server, scimhub and a bare endpoint, and compare them.

Both servers run one after the other on the same 2-core machine, each alone, with the
same workload parameters, so the ratio is not skewed by one server stealing CPU from
the other. scim2-server (the reference, in-memory) runs under gunicorn with one
gthread worker; scimhub runs its own ``scimhub serve`` on a fresh SQLite file.

    .venv/bin/python bench/compare.py                      # both, default workload
    .venv/bin/python bench/compare.py --only scim2-server  # one side
    .venv/bin/python bench/compare.py --users 500 --concurrency 4   # forwarded

``--versus-bare`` measures scimhub against ``bench/bare_endpoint.py`` (the least a server
can do for this workload, on the same database) back to back, alternating which goes first
in each of ``--rounds`` rounds, and prints per phase the median req/s of each and the ratio;
with ``--postgres`` it does the same on PostgreSQL with 1 and with 2 workers each:

    .venv/bin/python bench/compare.py --versus-bare --rounds 3 --postgres

Flags this driver does not know are forwarded to ``bench/entra_workload.py``
(``--url``, ``--token``, ``--label`` and ``--json`` are set by the driver).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
SIDES = ("scim2-server", "scimhub")
#: With --postgres: scimhub on PostgreSQL with 1 and with 2 worker processes.
PG_SIDES = ("scimhub-pg-1w", "scimhub-pg-2w")
#: The bare endpoint (bench/bare_endpoint.py) on the same databases.
BARE_SIDES = ("bare-sqlite", "bare-pg-1w", "bare-pg-2w")
#: --versus-bare: each scimhub side beside the bare endpoint on the same database and workers.
VERSUS = {"scimhub": "bare-sqlite", "scimhub-pg-1w": "bare-pg-1w",
          "scimhub-pg-2w": "bare-pg-2w"}
PG_ADMIN = os.environ.get("SCIMHUB_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Server:
    """A server process this driver started (its own session, so its group can be ended)."""

    label: str
    proc: subprocess.Popen[bytes]
    log: Path
    base_url: str
    token: str


def free_port() -> int:
    """Ask the kernel for an unused loopback port, so runs never clash with other servers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(cmd: Sequence[str], log: Path, env: dict[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    """Start a server in a new session: gunicorn forks a worker, and both must be stopped."""
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the process group this driver created (by its id), then kill if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(log: Path, lines: int = 30) -> str:
    """Last lines of a server log, shown when a server fails to come up."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll until the server answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log)}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"server not ready at {url} after {timeout:.0f} s:\n{tail(log)}")


def start_scim2_server(log: Path, threads: int) -> Server:
    """Start the reference (creating its venv on first use, hence the long timeout)."""
    port, token = free_port(), secrets.token_urlsafe(24)
    env = {**os.environ, "SCIM2_BENCH_TOKEN": token}
    proc = start(["bash", str(BENCH / "scim2_server.sh"), str(port), str(threads)], log, env)
    server = Server("scim2-server", proc, log, f"http://127.0.0.1:{port}/v2", token)
    try:
        wait_ready(f"{server.base_url}/ServiceProviderConfig", proc, log, timeout=600)
    except BaseException:
        stop(proc)
        raise
    print(f"### scim2-server {scim2_server_version()} (gunicorn gthread, 1 worker, "
          f"{threads} threads, in-memory)", flush=True)
    return server


def scim2_server_version() -> str:
    """The installed reference version: 'latest' from PyPI moves, so the output records it."""
    python = BENCH / ".venv-scim2-server" / "bin" / "python"
    code = "import importlib.metadata as m; print(m.version('scim2-server'))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                         check=False, timeout=60)
    return out.stdout.strip() or "(unknown version)"


def scimhub_exe() -> str:
    """The ``scimhub`` script of the venv running this driver, else the one on PATH."""
    local = Path(sys.executable).parent / "scimhub"
    found = str(local) if local.exists() else shutil.which("scimhub")
    if not found:
        raise RuntimeError("scimhub command not found; install the project in the venv")
    return found


def create_tenant(exe: str, database: str) -> str:
    """Create the bench tenant and return its API token (printed once, as JSON)."""
    out = subprocess.run(
        [exe, "tenant", "create", "bench", "--admin-email", "a@example.com",
         "--admin-password", secrets.token_urlsafe(16), "--json", "--database", database],
        capture_output=True, text=True, check=False, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"scimhub tenant create failed:\n{out.stdout}\n{out.stderr}")
    token: str = json.loads(out.stdout.strip().splitlines()[-1])["token"]
    return token


def start_scimhub(tmp: Path, log: Path, workers: int, database: str | None = None) -> Server:
    """Start scimhub on a fresh database (SQLite unless given) with one tenant."""
    exe, port = scimhub_exe(), free_port()
    database = database or f"sqlite:///{tmp / f'bench-{secrets.token_hex(4)}.db'}"
    token = create_tenant(exe, database)
    proc = start([exe, "serve", "--host", "127.0.0.1", "--port", str(port),
                  "--database", database, "--workers", str(workers)], log)
    server = Server("scimhub", proc, log, f"http://127.0.0.1:{port}/scim/v2", token)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=120)
    except BaseException:
        stop(proc)
        raise
    return server


def start_bare(tmp: Path, log: Path, workers: int, database: str | None = None) -> Server:
    """Start the bare endpoint on a fresh database (token via env, as for the workload)."""
    port, token = free_port(), secrets.token_urlsafe(24)
    database = database or f"sqlite:///{tmp / f'bare-{secrets.token_hex(4)}.db'}"
    env = {**os.environ, "SCIM_TOKEN": token}
    proc = start([sys.executable, str(BENCH / "bare_endpoint.py"), "--port", str(port),
                  "--database", database, "--workers", str(workers)], log, env)
    server = Server("bare", proc, log, f"http://127.0.0.1:{port}/scim/v2", token)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=60)
    except BaseException:
        stop(proc)
        raise
    return server


def run_workload(server: Server, forward: Sequence[str], out: Path) -> int:
    """Run the workload in its own process (token via env, so it is not in ``ps``)."""
    cmd = [sys.executable, str(BENCH / "entra_workload.py"), "--url", server.base_url,
           "--label", server.label, "--json", str(out), *forward]
    env = {**os.environ, "SCIM_TOKEN": server.token}
    return subprocess.run(cmd, env=env, check=False).returncode


def measure(side: str, args: argparse.Namespace, forward: Sequence[str], tmp: Path,
            out: Path) -> int:
    """Start one server, run the workload against it, and always stop it.

    The server log goes next to the JSON figures, so it survives the temp directory.
    """
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n### starting {side} (load average {load}; {cores()})", flush=True)
    log = out.with_suffix(".log")
    if side in PG_SIDES or side.startswith("bare-pg"):
        with postgres_database() as url:
            begin = start_bare if side.startswith("bare") else start_scimhub
            server = begin(tmp, log, int(side[-2]), url)
            return run_and_stop(side, server, forward, out)
    if side == "bare-sqlite":
        server = start_bare(tmp, log, args.scimhub_workers)
    elif side == "scim2-server":
        server = start_scim2_server(log, args.scim2_threads)
    else:
        server = start_scimhub(tmp, log, args.scimhub_workers)
    return run_and_stop(side, server, forward, out)


def run_and_stop(side: str, server: Server, forward: Sequence[str], out: Path) -> int:
    try:
        code = run_workload(server, forward, out)
        rss = peak_rss_mb(server.proc.pid)
        print(f"### {side}: server peak RSS {rss:.0f} MB (sum over its processes)", flush=True)
        if out.exists():
            report = json.loads(out.read_text())
            report["server_peak_rss_mb"] = rss
            out.write_text(json.dumps(report, indent=2))
        return code
    finally:
        stop(server.proc)
        print(f"### stopped {side} (log: {server.log})", flush=True)


def cores() -> str:
    """The cores this run may use, printed beside every figure that depends on them."""
    return f"{len(os.sched_getaffinity(0))} cores usable, {os.cpu_count()} online"


def peak_rss_mb(group: int) -> float:
    """Sum of VmHWM (peak resident set) over the processes of a server's process group."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmHWM:")), 0)
    return total / 1024


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throwaway database on the local PostgreSQL server."""
    import psycopg

    name = f"scimhub_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                     "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def print_summary(reports: dict[str, dict[str, Any]]) -> None:
    """One line per server: overall throughput, latency and peak memory."""
    print("\n== overall, every server in this run")
    print(f"{'server':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'peak RSS MB':>13}  verified")
    for side, r in reports.items():
        o = r["overall"]
        print(f"{side:<16}{o['rps']:>9.1f}{o['p50_ms']:>9.2f}{o['p99_ms']:>9.2f}"
              f"{r.get('server_peak_rss_mb', float('nan')):>13.0f}  "
              f"{'PASS' if r['verification']['passed'] else 'FAIL'}")


def ratio(a: float, b: float) -> str:
    """a/b as text, tolerant of a zero denominator."""
    return f"{a / b:.2f}x" if b else "n/a"


def print_comparison(ref: dict[str, Any], hub: dict[str, Any]) -> None:
    """Side-by-side req/s and p99 per phase, then the headline ratios."""
    print("\n== scimhub vs scim2-server (same workload)")
    print(f"   scim2-server ops: {ref['ops']}; scimhub ops: {hub['ops']}")
    print(f"{'phase':<9}{'ref req/s':>11}{'hub req/s':>11}{'ratio':>8}"
          f"{'ref p99':>10}{'hub p99':>10}")
    rows = [*ref["phases"], "overall"]
    for name in rows:
        r = ref["overall"] if name == "overall" else ref["phases"][name]
        h = hub["overall"] if name == "overall" else hub["phases"][name]
        print(f"{name:<9}{r['rps']:>11.1f}{h['rps']:>11.1f}{ratio(h['rps'], r['rps']):>8}"
              f"{r['p99_ms']:>10.2f}{h['p99_ms']:>10.2f}")
    ro, ho = ref["overall"], hub["overall"]
    print(f"overall req/s ratio (scimhub / scim2-server): {ratio(ho['rps'], ro['rps'])}; "
          f"p99 {ho['p99_ms']:.2f} ms vs {ro['p99_ms']:.2f} ms; "
          f"verification scimhub={'PASS' if hub['verification']['passed'] else 'FAIL'} "
          f"scim2-server={'PASS' if ref['verification']['passed'] else 'FAIL'}")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def row_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    """One phase's figures, or the overall ones."""
    row: dict[str, Any] = report["overall"] if name == "overall" else report["phases"][name]
    return row


def print_versus(hub_side: str, hub: list[dict[str, Any]], bare: list[dict[str, Any]]) -> None:
    """Per phase: median req/s of scimhub and of the bare endpoint, and scimhub's share."""
    bare_side = VERSUS[hub_side]
    print(f"\n== {hub_side} vs {bare_side} (median of {len(hub)} round(s); {cores()})")
    print(f"{'phase':<9}{'hub req/s':>11}{'bare req/s':>12}{'hub/bare':>10}"
          f"{'hub p99':>10}{'bare p99':>10}   per round (hub/bare)")
    for name in [*hub[0]["phases"], "overall"]:
        h = median([row_of(r, name)["rps"] for r in hub])
        b = median([row_of(r, name)["rps"] for r in bare])
        rounds = " ".join(
            f"{row_of(x, name)['rps'] / row_of(y, name)['rps']:.0%}"
            if row_of(y, name)["rps"] else "n/a" for x, y in zip(hub, bare, strict=True))
        print(f"{name:<9}{h:>11.1f}{b:>12.1f}{h / b if b else 0:>10.0%}"
              f"{median([row_of(r, name)['p99_ms'] for r in hub]):>10.2f}"
              f"{median([row_of(r, name)['p99_ms'] for r in bare]):>10.2f}   {rounds}")
    verdict = all(r["verification"]["passed"] for r in [*hub, *bare])
    print(f"verification: {'PASS' if verdict else 'FAIL'} on every round of both sides")


def run_versus(args: argparse.Namespace, forward: Sequence[str]) -> int:
    """scimhub and the bare endpoint back to back, alternating which goes first per round."""
    hub_sides = ["scimhub", *(PG_SIDES if args.postgres else ())]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    args.results.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, list[Path]] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="scimhub-bench-") as tmpdir:
        for hub_side in hub_sides:
            for rnd in range(args.rounds):
                pair = [hub_side, VERSUS[hub_side]]
                for side in pair if rnd % 2 == 0 else pair[::-1]:
                    out = args.results / f"entra-{stamp}-{side}-r{rnd + 1}.json"
                    outputs.setdefault(side, []).append(out)
                    try:
                        failed |= measure(side, args, forward, Path(tmpdir), out) != 0
                    except RuntimeError as exc:
                        print(f"### {side} failed: {exc}", file=sys.stderr)
                        failed = True
    for hub_side in hub_sides:
        paths = outputs[hub_side] + outputs[VERSUS[hub_side]]
        if all(p.exists() for p in paths):
            print_versus(hub_side,
                         [json.loads(p.read_text()) for p in outputs[hub_side]],
                         [json.loads(p.read_text()) for p in outputs[VERSUS[hub_side]]])
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("figures: " + ", ".join(str(p) for ps in outputs.values() for p in ps if p.exists()))
    print("reproduce: " + shlex.join([sys.executable, sys.argv[0], *sys.argv[1:]]))
    return 1 if failed else 0


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Driver flags; everything else goes to the workload unchanged."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=SIDES + PG_SIDES + BARE_SIDES,
                    help="measure one side only")
    ap.add_argument("--versus-bare", action="store_true",
                    help="scimhub against bench/bare_endpoint.py on the same database, "
                         "back to back, with the ratio per phase")
    ap.add_argument("--rounds", type=int, default=1,
                    help="with --versus-bare: rounds, alternating which side goes first")
    ap.add_argument("--postgres", action="store_true",
                    help="also measure scimhub on PostgreSQL with 1 and 2 workers")
    ap.add_argument("--scim2-threads", type=int, default=8,
                    help="gthread threads of scim2-server's single gunicorn worker")
    ap.add_argument("--scimhub-workers", type=int, default=1,
                    help="scimhub serve --workers (1 matches scim2-server's one process)")
    ap.add_argument("--results", type=Path, default=BENCH / "results",
                    help="directory for the per-side JSON figures")
    args, forward = ap.parse_known_args(argv)
    reserved = {"--url", "--token", "--label", "--json"}
    if bad := [a for a in forward if a.split("=")[0] in reserved]:
        ap.error(f"set by the driver, do not pass: {' '.join(bad)}")
    return args, forward


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each side in turn; non-zero if any side failed to run or to verify."""
    args, forward = parse_args(argv)
    if args.versus_bare:
        return run_versus(args, forward)
    sides = [args.only] if args.only else [*SIDES, *(PG_SIDES if args.postgres else ())]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    args.results.mkdir(parents=True, exist_ok=True)
    outputs = {side: args.results / f"entra-{stamp}-{side}.json" for side in sides}
    failed = False
    with tempfile.TemporaryDirectory(prefix="scimhub-bench-") as tmpdir:
        for side in sides:
            try:
                failed |= measure(side, args, forward, Path(tmpdir), outputs[side]) != 0
            except RuntimeError as exc:
                print(f"### {side} failed: {exc}", file=sys.stderr)
                failed = True
    if all(outputs.get(s) and outputs[s].exists() for s in SIDES):
        ref, hub = (json.loads(outputs[s].read_text()) for s in SIDES)
        print_comparison(ref, hub)
    print_summary({s: json.loads(p.read_text()) for s, p in outputs.items() if p.exists()})
    print("\nfigures: " + ", ".join(str(p) for p in outputs.values() if p.exists()))
    print("reproduce: " + shlex.join([sys.executable, sys.argv[0], *(argv or sys.argv[1:])]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
