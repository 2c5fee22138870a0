"""Profile ``scimhub serve`` under the Entra workload, one profile per phase.

Optimising the server without knowing where a request's time goes would be guessing, so
this script runs ``scimhub serve`` (one worker, SQLite, exactly the command's own code path)
inside cProfile in a child process, drives the phases of ``bench/entra_workload.py`` from
this process, and after each phase asks the child (SIGUSR1) to write that phase's profile
and start a fresh one. It then prints, per phase, each request's CPU in the server's main
thread split into the groups the optimisation will act on (HTTP/uvicorn, Starlette routing
and middleware, auth, SCIM parsing, storage, JSON), and the top functions by own and by
cumulative time, in µs per request.

    .venv/bin/python bench/profile_server.py --users 2000 --groups 50
    .venv/bin/python bench/profile_server.py --report bench/results/profile-...  # re-read

cProfile adds a fixed cost to every Python call, so absolute µs are inflated (the script
prints the profiled run's req/s to show by how much), and it sees only the main thread
(the event loop, where SQLite's cheap work runs inline; a member add of 100 and a page of
100 run on the store's threads). ``--sampler py-spy`` instead samples the plain ``scimhub
serve`` process, every thread, with ``py-spy record --nonblocking`` (the ``bench`` extra;
needs ptrace) for the length of each phase: less detail (no call counts, C functions folded
into their Python caller) but close to the real cost. ``--sampler cpu`` profiles nothing:
it reads the server's CPU time (user + system, every process of it) from /proc before and
after each phase, the unbiased µs per request, for scimhub or (``--server bare``) for
``bench/bare_endpoint.py``. Flags it does not know go to the workload.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import compare  # noqa: E402  (bench/ is not a package)
import entra_workload  # noqa: E402

CONTROL_ENV = "SCIMHUB_PROFILE_DIR"
#: The phases reported, and what each is called in the printout.
REPORTED = {"users": "probe + create", "patch": "PATCH (2 attributes)",
            "disable": "disable", "groups": "group probe + create",
            "members": "member add (100)", "remove": "member remove", "list": "listing"}

FuncKey = tuple[str, int, str]

#: First matching substring of a function's file (or builtin's name) decides its group.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("auth (token lookup)", ("scimhub/store/tenants.py", "scimhub/security.py",
                             "scimhub/server/context.py")),
    ("middleware (host, NUL, log, audit, rate limit)", (
        "scimhub/server/hosts.py", "scimhub/server/guard.py", "scimhub/server/request_log.py",
        "scimhub/server/metrics.py", "scimhub/server/ratelimit.py", "scimhub/console/",
        "scimhub/logs.py", "logging/")),
    ("Starlette routing", ("starlette/", "anyio/")),
    ("SCIM parsing/validation (scim/)", ("scimhub/scim/",)),
    ("storage (SQL build, execute, commit)", (
        "scimhub/store/", "sqlalchemy/", "sqlite3", "alembic/", "psycopg")),
    ("JSON rendering", ("orjson", "scimhub/server/responses.py", "json/")),
    ("handlers (server/ routes, operations)", ("scimhub/server/",)),
    ("thread hand-off (executor submit, locks, GIL)", ("concurrent/futures/", "threading.py",
                                                       "_queue.", "_thread.")),
    ("ids and randomness (urandom, uuid)", ("random.py", "secrets.py", "uuid.py", "urandom")),
    ("HTTP/uvicorn/event loop", ("uvicorn/", "httptools", "uvloop", "asyncio/", "h11/",
                                 "selectors", "socket")),
)


def group_of(key: FuncKey) -> str | None:
    """The group of a function; None for builtins, which take their caller's group."""
    filename, _, name = key
    text = name if filename == "~" else filename
    for group, needles in GROUPS:
        if any(n in text for n in needles):
            return group
    return None if filename == "~" else "other"


def label(key: FuncKey) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    short = filename.split("site-packages/")[-1].split("src/")[-1].split("lib/python3.11/")[-1]
    return f"{short}:{line} {name}"


# --------------------------------------------------------------------------- server side


def serve_under_profile(serve_args: list[str]) -> None:
    """Run ``scimhub serve`` in this process under cProfile; SIGUSR1 dumps and restarts.

    The phase name is read from a file the driver writes before signalling, so the dump
    is named for the phase it covers.
    """
    from scimhub.cli.serve import serve

    out = Path(os.environ[CONTROL_ENV])
    state = {"profiler": cProfile.Profile()}

    def dump(_sig: int, _frame: FrameType | None) -> None:
        profiler = state["profiler"]
        profiler.disable()
        name = (out / "phase").read_text().strip()
        profiler.dump_stats(out / f"{name}.pstats")
        state["profiler"] = cProfile.Profile()
        state["profiler"].enable()
        (out / f"{name}.done").touch()

    signal.signal(signal.SIGUSR1, dump)
    state["profiler"].enable()
    serve.main(serve_args, prog_name="scimhub serve", standalone_mode=False)


# --------------------------------------------------------------------------- driver side


def ask_dump(server: compare.Server, out: Path, name: str) -> None:
    """Have the server write the profile of what it did since the last dump."""
    (out / "phase").write_text(name)
    os.kill(server.proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 60
    while not (out / f"{name}.done").exists():
        if time.monotonic() > deadline or server.proc.poll() is not None:
            raise RuntimeError(f"server did not write the {name} profile:\n"
                               f"{compare.tail(server.log)}")
        time.sleep(0.05)


def group_cpu_seconds(group: int) -> float:
    """User + system CPU of every process in a server's process group (its workers too)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


class CpuMeter:
    """Server CPU per phase, from /proc: no profiler, so nothing is inflated."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid, self.out, self.start_cpu = pid, out, 0.0
        self.seconds: dict[str, float] = {}

    def start(self, _name: str) -> None:
        self.start_cpu = group_cpu_seconds(self.pid)

    def stop(self, name: str) -> None:
        self.seconds[name] = group_cpu_seconds(self.pid) - self.start_cpu
        (self.out / "cpu.txt").write_text(
            "\n".join(f"{k} {v:.3f}" for k, v in self.seconds.items()))


class PySpy:
    """One ``py-spy record`` per phase over the server's process, stopped when it ends."""

    def __init__(self, pid: int, out: Path, rate: int, gil: bool = False) -> None:
        self.pid, self.out, self.rate, self.gil = pid, out, rate, gil
        self.proc: subprocess.Popen[bytes] | None = None
        (out / "rate").write_text(str(rate))  # for --report: samples become µs with it

    def start(self, name: str) -> None:
        exe = Path(sys.executable).parent / "py-spy"
        self.proc = subprocess.Popen(
            [str(exe), "record", "--pid", str(self.pid), "--rate", str(self.rate),
             "--nonblocking", "--threads", "--format", "raw", "--full-filenames",
             *(["--gil"] if self.gil else []), "-o", str(self.out / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # let it attach before the phase starts

    def stop(self, _name: str) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=60)
            self.proc = None


async def drive(server: compare.Server, out: Path, forward: list[str],
                spy: PySpy | CpuMeter | None) -> dict[str, Any]:
    """The workload's phases in order, a profile dump after each; returns req/s per phase."""
    args = entra_workload.parse_args(["--url", server.base_url, f"--token={server.token}",
                                      "--label", "scimhub-profiled", *forward])
    client = entra_workload.Client(args)
    figures: dict[str, Any] = {}
    try:
        w = entra_workload.Workload(client, args, user_ids=[None] * args.users,
                                    group_ids=[None] * args.groups,
                                    members=[set() for _ in range(args.groups)])
        if spy is None:
            ask_dump(server, out, "startup")
        for name in entra_workload.PHASES:
            phase = w.stats[name] = entra_workload.PhaseStats(name)
            if spy is not None:
                spy.start(name)
            start = time.perf_counter()
            await entra_workload.PHASE_FUNCS[name](w, phase)
            phase.seconds = time.perf_counter() - start
            if spy is None:
                ask_dump(server, out, name)
            else:
                spy.stop(name)
            figures[name] = {"requests": len(phase.latencies), "seconds": phase.seconds,
                             "unexpected": phase.unexpected}
            print(f"  {name}: {len(phase.latencies)} requests in {phase.seconds:.2f} s "
                  f"({len(phase.latencies) / phase.seconds:.0f} req/s while profiled), "
                  f"{phase.unexpected} unexpected", flush=True)
    finally:
        await client.close()
    return figures


def run(forward: list[str], results: Path, sampler: str, rate: int, target: str,
        postgres: bool = False, gil: bool = False) -> Path:
    """Start the profiled server on a fresh SQLite file (or, ``postgres``, a fresh PostgreSQL
    database), drive the workload, stop it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = results / f"profile-{stamp}-{sampler}-{target}{'-pg' if postgres else ''}"
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="scimhub-profile-") as tmp, ExitStack() as stack:
        if sampler != "cprofile":
            begin = compare.start_bare if target == "bare" else compare.start_scimhub
            url = stack.enter_context(compare.postgres_database()) if postgres else None
            server = begin(Path(tmp), out / "server.log", 1, url)
            meter = (PySpy(server.proc.pid, out, rate, gil) if sampler == "py-spy"
                     else CpuMeter(server.proc.pid, out))
            try:
                import uvloop

                figures = uvloop.run(drive(server, out, forward, meter))
            finally:
                compare.stop(server.proc)
            return record_counts(out, figures)
        database = f"sqlite:///{Path(tmp) / 'bench.db'}"
        token = compare.create_tenant(compare.scimhub_exe(), database)
        port = compare.free_port()
        log = out / "server.log"
        env = {**os.environ, CONTROL_ENV: str(out)}
        proc = compare.start([sys.executable, __file__, "--serve", "--host", "127.0.0.1",
                              "--port", str(port), "--database", database], log, env)
        server = compare.Server("scimhub", proc, log, f"http://127.0.0.1:{port}/scim/v2",
                                token)
        try:
            compare.wait_ready(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=120)
            import uvloop

            figures = uvloop.run(drive(server, out, forward, None))
        finally:
            compare.stop(proc)
    return record_counts(out, figures)


def record_counts(out: Path, figures: dict[str, Any]) -> Path:
    """Requests per phase, next to the profiles, so that a report can be printed again."""
    (out / "requests.txt").write_text(
        "\n".join(f"{k} {v['requests']} {v['seconds']:.4f}" for k, v in figures.items()))
    return out


# --------------------------------------------------------------------------- report


def split_by_group(stats: pstats.Stats) -> dict[str, float]:
    """Own time per group; a builtin's own time goes to the groups of its callers."""
    table: dict[FuncKey, Any] = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = defaultdict(float)
    for key, (_cc, _nc, tt, _ct, callers) in table.items():
        group = group_of(key)
        if group is not None:
            totals[group] += tt
            continue
        if not callers:
            totals["other"] += tt
            continue
        for caller, figures in callers.items():
            totals[group_of(caller) or "other"] += figures[2]
    return totals


def print_phase(name: str, path: Path, requests: int, top: int) -> None:
    """One phase: µs per request per group, then the top functions."""
    stats = pstats.Stats(str(path))
    total: float = stats.total_tt  # type: ignore[attr-defined]
    per = 1e6 / max(1, requests)
    print(f"\n== {name} ({REPORTED.get(name, name)}): {requests} requests, "
          f"{total * per:.0f} µs of profiled main-thread CPU per request")
    for group, seconds in sorted(split_by_group(stats).items(), key=lambda kv: -kv[1]):
        print(f"   {group:<48}{seconds * per:>8.0f} µs  {seconds / total:>5.0%}")
    table: dict[FuncKey, Any] = stats.stats  # type: ignore[attr-defined]
    for title, index in (("own", 2), ("cumulative", 3)):
        print(f"   -- top {top} by {title} time (µs per request, calls per request)")
        ranked = sorted(table.items(), key=lambda kv: -kv[1][index])[:top]
        for key, row in ranked:
            print(f"   {row[index] * per:>8.1f} µs {row[1] / max(1, requests):>7.1f}x  "
                  f"{label(key)}")


#: Frames every stack of a thread passes through (the command, the loop's entry, a thread's
#: start): left out of the inclusive ranking, where they would fill the top rows.
ENTRY_FRAMES = ("click/", "scimhub/cli/", "uvicorn/main.py", "uvicorn/server.py",
                "uvicorn/_compat.py", "asyncio/runners.py", "threading.py", "bin/scimhub",
                "concurrent/futures/thread.py:0 _worker")

#: Leaf frames that are a thread waiting for work, not working: py-spy's ``--nonblocking``
#: mode cannot always tell a thread blocked in C from a running one.
IDLE_LEAVES = ("concurrent/futures/thread.py:81)",)


def spy_frame(frame: str) -> tuple[FuncKey, str]:
    """``name (file:line)`` of py-spy's raw format as a key and a group."""
    name, _, where = frame.rpartition(" (")
    filename = where.rstrip(")").rsplit(":", 1)[0]
    key = (filename, 0, name)
    return key, group_of(key) or "other"


def print_spy_phase(name: str, path: Path, requests: int, seconds: float, rate: int,
                    top: int) -> None:
    """One phase from py-spy samples: µs per request per group, top frames own/inclusive."""
    own: dict[FuncKey, int] = defaultdict(int)
    inclusive: dict[FuncKey, int] = defaultdict(int)
    groups: dict[str, int] = defaultdict(int)
    total = loop = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("thread (", "process "))]
        if not frames or frames[-1].endswith(IDLE_LEAVES):
            continue
        total += count
        loop += count if stack.split(";", 1)[0].endswith("MainThread") else 0
        keys = [spy_frame(f) for f in frames]
        leaf_key, leaf_group = keys[-1]
        own[leaf_key] += count
        groups[leaf_group] += count
        for key in {k for k, _ in keys}:
            inclusive[key] += count
    per = 1e6 / rate / max(1, requests)
    print(f"\n== {name} ({REPORTED.get(name, name)}): {requests} requests, "
          f"{total * per:.0f} µs of sampled busy time per request (all threads); the "
          f"event loop's thread was busy {loop / rate / max(seconds, 1e-9):.0%} of the phase")
    for group, samples in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"   {group:<48}{samples * per:>8.0f} µs  {samples / max(1, total):>5.0%}")
    inclusive = {k: v for k, v in inclusive.items() if not any(
        e in label(k) for e in ENTRY_FRAMES)}
    others = {k: v for k, v in own.items() if (group_of(k) or "other") == "other"}
    for title, table in (("own", own), ("inclusive", inclusive), ("own, group 'other'", others)):
        print(f"   -- top {top} by {title} time (µs per request)")
        for key, samples in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"   {samples * per:>8.1f} µs  {label(key)}")


def print_cpu(out: Path, counts: dict[str, int], durations: dict[str, float]) -> None:
    """Server CPU per request and per phase, with the load the machine was under."""
    print(f"server CPU per phase ({out.name}; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {compare.cores()})")
    print(f"{'phase':<9}{'requests':>9}{'req/s':>9}{'CPU s':>8}{'cores busy':>12}"
          f"{'µs/request':>12}")
    for line in (out / "cpu.txt").read_text().splitlines():
        name, cpu_text = line.split()
        cpu, requests, seconds = float(cpu_text), counts[name], durations[name]
        print(f"{name:<9}{requests:>9}{requests / seconds:>9.0f}{cpu:>8.2f}"
              f"{cpu / seconds:>12.2f}{cpu * 1e6 / max(1, requests):>12.0f}")


def report(out: Path, top: int, rate: int) -> None:
    counts, durations = {}, {}
    for line in (out / "requests.txt").read_text().splitlines():
        phase, requests, seconds = line.split()
        counts[phase], durations[phase] = int(requests), float(seconds)
    if (out / "cpu.txt").exists():
        print_cpu(out, counts, durations)
        return
    if (out / "rate").exists():
        rate = int((out / "rate").read_text())
    print(f"profiles in {out}")
    for name in entra_workload.PHASES:
        if (out / f"{name}.pstats").exists():
            print_phase(name, out / f"{name}.pstats", counts.get(name, 0), top)
        elif (out / f"{name}.txt").exists():
            print_spy_phase(name, out / f"{name}.txt", counts.get(name, 0),
                            durations.get(name, 0.0), rate, top)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve"]:
        serve_under_profile(argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=BENCH / "results")
    ap.add_argument("--report", type=Path, help="print an earlier run's profiles again")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--sampler", choices=("cprofile", "py-spy", "cpu"), default="cprofile")
    ap.add_argument("--server", choices=("scimhub", "bare"), default="scimhub",
                    help="with --sampler cpu or py-spy: which server to run")
    ap.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    ap.add_argument("--postgres", action="store_true",
                    help="with --sampler cpu or py-spy: on a fresh PostgreSQL database "
                         f"({compare.PG_ADMIN.rsplit('/', 1)[0]}), one worker")
    ap.add_argument("--gil", action="store_true",
                    help="with --sampler py-spy: sample only the thread holding the GIL (Python "
                         "CPU, not waits for the network or a lock)")
    args, forward = ap.parse_known_args(argv)
    if (args.server == "bare" or args.postgres) and args.sampler == "cprofile":
        ap.error("--server bare and --postgres need --sampler cpu or py-spy")
    out = args.report or run(forward, args.results, args.sampler, args.rate, args.server,
                             args.postgres, args.gil)
    report(out, args.top, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
