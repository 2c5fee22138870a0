"""Running the engine unattended: quarantine on rejected credentials, the accidental-deletion
guard, and job start/stop/restart/status, against a real scimhub server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.server import ServerProcess, free_port
from tests.engine.fault_proxy import FaultProxy
from tests.engine.test_engine_e2e import Job, directory, person, target  # noqa: F401


def scimhub(job: Job, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scimhub", *args, "--database",
         f"sqlite:///{job.workdir}/engine.db"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"SCIMHUB_TARGET_TOKEN": token or job.token, "PATH": "/usr/bin:/bin", **PYTHONPATH})


#: Passed on, so that the engine runs the code the tests import (scripts/plant_bugs.py runs
#: them against a copy of the tree through PYTHONPATH).
PYTHONPATH = {k: v for k, v in os.environ.items() if k == "PYTHONPATH"}


def status(job: Job) -> dict[str, Any]:
    result = scimhub(job, "job", "status", "--config", str(job.workdir / "job.toml"), "--json")
    assert result.returncode == 0, result.stderr
    return next(r for r in json.loads(result.stdout) if r["job"] == "acunetix-360")


def sync(job: Job, token: str | None = None) -> subprocess.CompletedProcess[str]:
    return scimhub(job, "sync", "--config", str(job.workdir / "job.toml"), "--once", "--json",
                   token=token)


def test_rejected_token_quarantines_and_a_good_cycle_releases(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    failed = sync(job, token="scimhub_000000000000_revoked")
    assert failed.returncode == 1 and "quarantined" in failed.stderr
    row = status(job)
    assert row["quarantine_reason"].startswith("EncounteredQuarantineException: Unauthorized")
    logged = json.loads(scimhub(job, "logs", "--job", "acunetix-360", "--action", "quarantine",
                                "--json").stdout)
    assert [e["error_code"] for e in logged] == ["EncounteredQuarantineException"]
    assert sync(job).returncode == 0
    assert status(job)["quarantine_reason"] is None


def test_deletion_guard_stops_the_cycle_until_deletes_are_allowed(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    config = job.workdir / "job.toml"
    config.write_text(config.read_text()
                      + '\n[actions]\ndeletion_threshold = 1\ndelete_after = "0"\n')
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "guard-" + u["userPrincipalName"]
    job.write(data)
    assert sync(job).returncode == 0
    provisioned = {n for n in job.users() if n.startswith("guard-")}
    data["users"] = data["users"][:2]  # two of the four provisioned users leave
    job.write(data)
    stopped = sync(job)
    assert stopped.returncode == 1 and "threshold of 1" in stopped.stderr
    assert {n for n in job.users() if n.startswith("guard-")} == provisioned, "nothing deleted"
    assert status(job)["quarantine_reason"].startswith("DeletionThresholdExceeded")
    staged = json.loads(scimhub(job, "logs", "--job", "acunetix-360", "--action",
                                "stageddelete", "--json").stdout)
    assert len(staged) == 2
    assert scimhub(job, "job", "allow-deletes", "acunetix-360").returncode == 0
    assert sync(job).returncode == 0
    remaining = {n for n in job.users() if n.startswith("guard-")}
    assert remaining < provisioned
    assert status(job)["allow_deletes"] is False, "allowed once"


def test_scope_leavers_count_toward_the_deletion_guard(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    """Users still in the source but leaving scope (a filter no longer matches, an assignment
    removed) would be disabled: those deprovisions count toward the threshold like deletions."""
    job = Job(target, tmp_path)
    config = job.workdir / "job.toml"
    config.write_text(config.read_text()
                      + '\n[actions]\ndeletion_threshold = 1\ndelete_after = "0"\n')
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "leaver-" + u["userPrincipalName"]
    job.write(data)
    assert sync(job).returncode == 0
    mine = {n: u for n, u in job.users().items() if n.startswith("leaver-")}
    assert len(mine) == 4 and all(u["active"] for u in mine.values())
    by_id = {u["objectId"]: u for u in data["users"]}
    by_id["u1"]["department"] = "Sales"  # no longer matches the scoping filter
    by_id["u6"]["assigned"] = False      # unassigned
    job.write(data)
    stopped = sync(job)
    assert stopped.returncode == 1 and "threshold of 1" in stopped.stderr, stopped.stderr
    after = {n: u for n, u in job.users().items() if n.startswith("leaver-")}
    assert {n: u["active"] for n, u in after.items()} == dict.fromkeys(mine, True), (
        "nothing disabled")
    assert status(job)["quarantine_reason"].startswith("DeletionThresholdExceeded")
    staged = json.loads(scimhub(job, "logs", "--job", "acunetix-360", "--action",
                                "stageddelete", "--json").stdout)
    assert sorted(e["source_id"] for e in staged) == ["u1", "u6"]
    assert scimhub(job, "job", "allow-deletes", "acunetix-360").returncode == 0
    assert sync(job).returncode == 0
    after = {n: u for n, u in job.users().items() if n.startswith("leaver-")}
    assert {n: u["active"] for n, u in after.items()} == {
        "leaver-ada@contoso.example": False, "leaver-grace@contoso.example": True,
        "leaver-alan@contoso.example": True, "leaver-donald@contoso.example": False}, (
        "disabled, not deleted, once allowed")


def test_stop_start_restart(target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "ctl-" + u["userPrincipalName"]
    job.write(data)
    assert json.loads(sync(job).stdout)["kind"] == "initial"
    assert scimhub(job, "job", "stop", "acunetix-360").returncode == 0
    stopped = sync(job)
    assert stopped.returncode == 1 and "is stopped" in stopped.stderr
    assert status(job)["state"] == "stopped"
    assert scimhub(job, "job", "start", "acunetix-360").returncode == 0
    assert json.loads(sync(job).stdout)["kind"] == "incremental"
    assert scimhub(job, "job", "restart", "acunetix-360").returncode == 0
    again = json.loads(sync(job).stdout)
    assert again["kind"] == "initial" and again["failures"] == 0
    row = status(job)
    assert row["last_cycle"]["kind"] == "initial" and row["next_cycle"] is not None


def test_failed_objects_wait_in_escrow_and_are_retried_with_the_attempt_logged(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    job = Job(target, tmp_path)
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "escrow-" + u["userPrincipalName"]
    job.write(data)
    assert sync(job).returncode == 0
    # Issue 11: a linked object deleted out of band is InvalidAnchor (re-created next cycle),
    # no longer a failure retried from escrow; a userName another target user holds is.
    data["users"][0]["userPrincipalName"] = data["users"][1]["userPrincipalName"]
    job.write(data)

    def failures() -> list[str]:
        entries = json.loads(scimhub(job, "logs", "--job", "acunetix-360", "--status",
                                     "failure", "--json").stdout)
        return [e["detail"].split(":")[0] for e in entries if e["source_id"] == "u1"]

    config = job.workdir / "job.toml"
    base = config.read_text()
    config.write_text(base + '\n[escrow]\nfirst_retry = "0s"\n')
    assert sync(job).returncode == 1
    assert failures() == ["attempt 1"]
    assert sync(job).returncode == 1
    assert failures() == ["attempt 2", "attempt 1"]
    config.write_text(base + '\n[escrow]\nfirst_retry = "1h"\n')
    assert sync(job).returncode == 1, "due: the last retry was scheduled with 0s"
    assert failures()[0] == "attempt 3"
    assert json.loads(sync(job).stdout)["failures"] == 0, "now waiting in escrow for 4 hours"
    assert failures()[0] == "attempt 3"



def test_the_error_says_quarantined_only_when_the_job_is(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    """A new token is checked against the target before a cycle; when the target cannot be
    reached for that check, nothing is quarantined (the next run simply checks again), and
    the message must not claim otherwise."""
    job = Job(target, tmp_path)
    config = job.workdir / "job.toml"
    with FaultProxy(target.url, free_port(), rate=0) as proxy:
        config.write_text(config.read_text()
                          .replace(target.scim_url, f"{proxy.url}/scim/v2")
                          .replace('token_env = "SCIMHUB_TARGET_TOKEN"',
                                   'token_env = "SCIMHUB_TARGET_TOKEN"\ntimeout = 2'))
        assert sync(job).returncode == 0
    # The proxy is gone: the target cannot be reached, and the token is another one.
    failed = sync(job, token="scimhub_000000000000_rotated")
    assert failed.returncode == 1, failed.stderr
    assert status(job)["quarantine_reason"] is None
    assert "target:" in failed.stderr and "quarantined" not in failed.stderr, failed.stderr


def test_a_refused_job_is_reported_once_and_left_alone_by_sync(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    """Without --once, a job file that points at another target than its job's state is
    refused once, not at every interval; with nothing left to run, sync exits 1."""
    job = Job(target, tmp_path)
    assert sync(job).returncode == 0
    config = job.workdir / "job.toml"
    moved = target.scim_url.replace("127.0.0.1", "localhost")
    config.write_text(config.read_text().replace(target.scim_url, moved)
                      .replace('interval = "40m"', 'interval = "1s"'))
    try:
        ran = scimhub(job, "sync", "--config", str(config))
    except subprocess.TimeoutExpired:  # the old behaviour: refused again every second
        raise AssertionError("sync kept retrying a job it can never run") from None
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr.count("not run:") == 1, ran.stderr
    assert "cycle failed" not in ran.stderr
