"""Running unattended: SIGTERM stops cleanly, and two engine workers on one PostgreSQL
database never run a job at once; when one is killed the other takes the job over.

End states alone prove little here: the target's userName uniqueness keeps the end state
right even when two workers run the same cycle side by side. So these tests also count
what happened on the way: which worker process held connections to the target while the
other was alive, how many creates the target received (its audit log records every SCIM
write), and how many create entries the engine logged per source object.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scimhub.engine.sample import sample_directory
from tests.e2e.server import ServerProcess
from tests.engine.test_engine_e2e import Job, target  # noqa: F401
from tests.support.postgres import temporary_database

#: Passed on, so that the engine runs the code the tests import (scripts/plant_bugs.py runs
#: them against a copy of the tree through PYTHONPATH).
PYTHONPATH = {k: v for k, v in os.environ.items() if k == "PYTHONPATH"}


def engine(job: Job, database: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scimhub", "sync", "--config", str(job.workdir / "job.toml"),
         "--json", "--database", database, *extra],
        env={"SCIMHUB_TARGET_TOKEN": job.token, "PATH": "/usr/bin:/bin", **PYTHONPATH},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def prepare(job: Job, prefix: str, users: int, lease: str = "3s") -> None:
    data = sample_directory(users=users, groups=3, members=20, domain=f"{prefix}.example")
    for group in data["groups"]:
        group["displayName"] = f"{prefix} {group['displayName']}"
    job.write(data)
    config = (job.workdir / "job.toml").read_text().split("[[scope.filters]]")[0]
    config = config.replace('mode = "assigned"', 'mode = "all"').replace(
        'interval = "40m"', f'interval = "1s"\nlease = "{lease}"')
    (job.workdir / "job.toml").write_text(config)


def count(job: Job, prefix: str) -> tuple[int, int]:
    found = job.scim.get("/Users", params={"filter": f'userName ew "{prefix}.example"',
                                           "count": 1000}).json()
    names = [u["userName"] for u in found["Resources"]]
    return len(names), len(set(names))


def groups(job: Job, prefix: str) -> int:
    found = job.scim.get("/Groups", params={"filter": f'displayName sw "{prefix} "',
                                            "excludedAttributes": "members"}).json()
    return int(found["totalResults"])


def wait_until(condition: Callable[[], bool], seconds: float, what: str,
               *alive: subprocess.Popen[str]) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``seconds``, or at once
    (with its stderr) when one of the ``alive`` processes has exited."""
    deadline = time.monotonic() + seconds
    while not condition():
        for process in alive:
            if process.poll() is not None:
                pytest.fail(f"engine exited ({process.returncode}) while waiting until {what}: "
                            f"{process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("the engine did not exit within 30 s of SIGTERM")


def target_connections(pid: int, port: int) -> int:
    """How many TCP connections process ``pid`` has open to ``port`` (Linux ``/proc``):
    an engine worker holds its target connections for as long as it runs a cycle."""
    sockets: set[str] = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue  # closed meanwhile
            if link.startswith("socket:["):
                sockets.add(link[8:-1])
    except OSError:
        return 0  # the process is gone
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in sockets:
                    found += 1
    return found


class Watch(threading.Thread):
    """Samples, every 20 ms, which worker processes hold connections to the target."""

    def __init__(self, port: int, workers: dict[str, subprocess.Popen[str]]) -> None:
        super().__init__(daemon=True)
        self.port, self.workers = port, workers
        self.seen: list[tuple[float, frozenset[str]]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            talking = frozenset(name for name, p in self.workers.items()
                                if p.poll() is None and target_connections(p.pid, self.port))
            self.seen.append((time.monotonic(), talking))
            time.sleep(0.02)

    def talked(self, name: str, before: float | None = None) -> int:
        """Samples in which worker ``name`` held target connections (before a time)."""
        return sum(1 for at, talking in self.seen
                   if name in talking and (before is None or at < before))


def audited_creates(server: ServerProcess, since: str) -> Counter[tuple[str, int]]:
    """The target's POSTs since ``since`` by (path, status), from its audit log."""
    path = urlsplit(server.database).path.lstrip("/")
    with sqlite3.connect(f"file:/{path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT path, status FROM audit_log WHERE method = 'POST' "
                            "AND at >= ?", (since,)).fetchall()
    return Counter((p.rsplit("/", 1)[-1], int(s)) for p, s in rows)


def utc_now() -> str:
    """The audit log's time format (UTC, microseconds), for ``at >= ?``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def settled_creates(server: ServerProcess, since: str, users: int) -> Counter[tuple[str, int]]:
    """The audited POSTs once the user creates are all recorded (the audit log is written
    in batches right after the responses)."""
    wait_until(lambda: audited_creates(server, since)[("Users", 201)] >= users, 10,
               f"the target's audit log recorded {users} user creates")
    return audited_creates(server, since)


def engine_creates(job: Job, database: str) -> Counter[str]:
    result = subprocess.run(
        [sys.executable, "-m", "scimhub", "logs", "--job", "acunetix-360", "--action", "create",
         "--status", "success", "--limit", "100000", "--json", "--database", database],
        env={"PATH": "/usr/bin:/bin", **PYTHONPATH}, capture_output=True, text=True,
        timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return Counter(str(e["source_id"]) for e in json.loads(result.stdout) if e["kind"] == "user")


def test_sigterm_finishes_what_is_in_flight_and_exits(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    prepare(job, "term", 400)
    database = f"sqlite:///{tmp_path}/engine.db"
    since = utc_now()
    worker = engine(job, database)
    wait_until(lambda: count(job, "term")[0] >= 50, 60, "the engine created 50 users", worker)
    assert stop(worker) == 0, worker.stderr.read() if worker.stderr else ""
    stopped_at = count(job, "term")[0]
    assert stopped_at < 400, "SIGTERM came after the cycle ended: the test proved nothing"
    rerun = engine(job, database)
    wait_until(lambda: count(job, "term")[0] >= 400, 90, "the rerun created all 400 users",
               rerun)
    assert stop(rerun) == 0
    assert count(job, "term") == (400, 400)
    posted = settled_creates(target, since, 400)
    assert posted[("Users", 201)] == 400 and posted[("Users", 409)] == 0, posted
    created = engine_creates(job, database)
    assert len(created) == 400 and set(created.values()) == {1}, (
        "each user created once, by the first run or the rerun, and logged once")


def test_two_workers_one_killed_the_job_runs_in_one_place_at_a_time(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    """Worker A starts the initial cycle and is frozen (SIGSTOP) mid-cycle, holding its lease;
    worker B starts and tries the job for seconds: it must not touch the target. Then A is
    killed, B takes the job over at once and finishes it: every user created once, one
    create per user in the target's audit log. (Freezing A keeps its cycle from ending
    before B has tried, however fast or loaded the machine is.)"""
    job = Job(target, tmp_path)
    prepare(job, "lease", 500, lease="90s")
    since = utc_now()
    with temporary_database() as database:
        postgres_port = urlsplit(database).port or 5432
        first = engine(job, database)
        second: subprocess.Popen[str] | None = None
        try:
            wait_until(lambda: count(job, "lease")[0] >= 10, 60,
                       "worker A has started its cycle", first)
            first.send_signal(signal.SIGSTOP)
            frozen = time.monotonic()
            created_before_kill = count(job, "lease")[0]
            second = engine(job, database)
            watch = Watch(target.port, {"A": first, "B": second})
            watch.start()
            b = second
            wait_until(lambda: target_connections(b.pid, postgres_port) > 0, 60,
                       "worker B has connected to the engine's database", second)
            time.sleep(8)  # B asks for the lease every second (interval 1s) meanwhile
            assert time.monotonic() - frozen < 80, "B started too late: A's lease ran out"
            first.kill()
            first.wait()
            killed = time.monotonic()
            wait_until(lambda: count(job, "lease")[0] >= 500 and groups(job, "lease") >= 3,
                       120, "worker B finished the job after A was killed", second)
            assert stop(second) == 0
            watch.done.set()
            watch.join()
            created = engine_creates(job, database)
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
    assert created_before_kill < 500, "A finished before the kill: the test proved nothing"
    assert watch.talked("A", before=killed) > 0, "A was seen working"
    assert watch.talked("B", before=killed) == 0, (
        "B talked to the target while A held the lease: the job ran in two places")
    assert watch.talked("B") > 0, "B took the job over"
    assert count(job, "lease") == (500, 500)
    posted = settled_creates(target, since, 500)
    assert posted[("Users", 201)] == 500 and posted[("Users", 409)] == 0, posted
    assert posted[("Groups", 201)] == 3 and posted[("Groups", 409)] == 0, posted
    assert set(created.values()) <= {1}, "no user was created twice by the engine"
