"""The engine killed with SIGKILL in the middle of an initial cycle, then started again: the
target ends in exactly the source's state, with no duplicate user, group or membership."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from scimhub.provisioning.sample import sample_directory
from tests.e2e.server import ServerProcess
from tests.provisioning.test_engine_e2e import Job, target  # noqa: F401
from tests.provisioning.test_job_control import sync


def test_sigkill_mid_cycle_then_rerun_converges_without_duplicates(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    data = sample_directory(users=600, groups=6, members=40, domain="crash.example")
    for group in data["groups"]:
        group["displayName"] = "Crash " + group["displayName"]
    job.write(data)
    (job.workdir / "job.toml").write_text(
        (job.workdir / "job.toml").read_text().split("[[scope.filters]]")[0]
        .replace('mode = "assigned"', 'mode = "all"'))
    engine = subprocess.Popen(
        [sys.executable, "-m", "scimhub", "sync", "--config", str(job.workdir / "job.toml"),
         "--once", "--database", f"sqlite:///{job.workdir}/engine.db"],
        env={"SCIMHUB_TARGET_TOKEN": job.token, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        created = job.scim.get("/Users", params={"filter": 'userName ew "crash.example"',
                                                 "count": 0}).json()["totalResults"]
        if created >= 150:
            break
        time.sleep(0.05)
    engine.kill()
    engine.wait()
    assert 0 < created < 600, "the kill must land in the middle of the cycle"

    result = sync(job)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["failures"] == 0
    listed = job.scim.get("/Users", params={"filter": 'userName ew "crash.example"',
                                            "count": 1000}).json()
    names = [u["userName"] for u in listed["Resources"]]
    assert len(names) == len(set(names)) == 600
    groups = job.scim.get("/Groups", params={"filter": 'displayName sw "Crash "',
                                             "count": 100}).json()["Resources"]
    assert len(groups) == 6
    by_user = {u["id"]: u["userName"] for u in listed["Resources"]}
    upn = {u["objectId"]: u["userPrincipalName"] for u in data["users"]}
    for group in data["groups"]:
        found = next(g for g in groups if g["displayName"] == group["displayName"])
        members = sorted(by_user[m["value"]] for m in found.get("members", []))
        assert members == sorted(upn[m] for m in group["members"])
