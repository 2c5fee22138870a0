"""Running unattended: SIGTERM stops cleanly, and two engine workers on one PostgreSQL
database never run a job at once; when one is killed the other takes the job over."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from scimhub.provisioning.sample import sample_directory
from tests.e2e.server import ServerProcess
from tests.provisioning.test_engine_e2e import Job, target  # noqa: F401
from tests.support.postgres import temporary_database


def engine(job: Job, database: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scimhub", "sync", "--config", str(job.workdir / "job.toml"),
         "--json", "--database", database],
        env={"SCIMHUB_TARGET_TOKEN": job.token, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def prepare(job: Job, prefix: str, users: int) -> None:
    data = sample_directory(users=users, groups=3, members=20, domain=f"{prefix}.example")
    for group in data["groups"]:
        group["displayName"] = f"{prefix} {group['displayName']}"
    job.write(data)
    config = (job.workdir / "job.toml").read_text().split("[[scope.filters]]")[0]
    config = config.replace('mode = "assigned"', 'mode = "all"').replace(
        'interval = "40m"', 'interval = "1s"\nlease = "3s"')
    (job.workdir / "job.toml").write_text(config)


def count(job: Job, prefix: str) -> tuple[int, int]:
    found = job.scim.get("/Users", params={"filter": f'userName ew "{prefix}.example"',
                                           "count": 1000}).json()
    names = [u["userName"] for u in found["Resources"]]
    return len(names), len(set(names))


def test_sigterm_finishes_what_is_in_flight_and_exits(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    prepare(job, "term", 400)
    worker = engine(job, f"sqlite:///{tmp_path}/engine.db")
    while count(job, "term")[0] < 50:
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    rerun = engine(job, f"sqlite:///{tmp_path}/engine.db")
    deadline = time.monotonic() + 60
    while count(job, "term")[0] < 400 and time.monotonic() < deadline:
        time.sleep(0.2)
    rerun.send_signal(signal.SIGTERM)
    rerun.wait(timeout=30)
    assert count(job, "term") == (400, 400)


def test_two_workers_one_killed_the_job_completes_once(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    prepare(job, "lease", 500)
    with temporary_database() as database:
        first = engine(job, database)
        time.sleep(0.5)
        second = engine(job, database)
        while count(job, "lease")[0] < 60:
            time.sleep(0.05)
        first.kill()  # whichever holds the lease, one worker dies mid-cycle
        first.wait()
        deadline = time.monotonic() + 90
        while count(job, "lease")[0] < 500 and time.monotonic() < deadline:
            time.sleep(0.2)
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert count(job, "lease") == (500, 500), "completed once, without duplicates"
