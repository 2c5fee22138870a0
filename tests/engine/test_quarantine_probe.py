"""A cycle proves the credentials before it may release a quarantine (issue 11, docs/entra.md
§1.2, §2.7): an incremental cycle with nothing to change sends no other request, so without the
start-of-activity probe a revoked token went unnoticed and a quarantined job was released."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess, scimhub
from tests.engine.test_engine_e2e import Job, directory
from tests.engine.test_job_control import scimhub as engine
from tests.engine.test_job_control import status, sync


@pytest.fixture
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of the test's own: the test revokes its tenant's token."""
    workdir = tmp_path_factory.mktemp("probe-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.tenants = {"acme": proc.create_tenant("acme")}  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()


def revoke(target: ServerProcess) -> None:
    scimhub("token", "reset", "acme", "--json", env=target.env)


def test_a_cycle_with_nothing_to_change_keeps_a_quarantine_while_the_token_is_rejected(
        target: ServerProcess, tmp_path: Path) -> None:
    job = Job(target, tmp_path)
    data = directory()
    assert sync(job).returncode == 0
    revoke(target)  # the job's own token, the one it recorded, stops working
    data["users"][0]["surname"] = "King"
    job.write(data)
    failed = sync(job)
    assert failed.returncode == 1 and "quarantined" in failed.stderr, failed.stderr
    assert status(job)["quarantine_reason"].startswith(
        "EncounteredQuarantineException: Unauthorized")
    data["users"][0]["surname"] = "Lovelace"  # back as it was: nothing left to change
    job.write(data)
    again = sync(job)
    assert again.returncode == 1, again.stdout
    assert "quarantined" in again.stderr and "Unauthorized" in again.stderr, again.stderr
    assert status(job)["quarantine_reason"].startswith(
        "EncounteredQuarantineException: Unauthorized"), "not released"


def test_a_revoked_token_is_noticed_by_a_cycle_with_nothing_to_change(
        target: ServerProcess, tmp_path: Path) -> None:
    job = Job(target, tmp_path)
    assert sync(job).returncode == 0
    revoke(target)
    idle = sync(job)
    assert idle.returncode == 1, idle.stdout
    assert status(job)["quarantine_reason"].startswith(
        "EncounteredQuarantineException: Unauthorized")
    logged = json.loads(job_logs(job))
    assert [e["error_code"] for e in logged] == ["EncounteredQuarantineException"]


def test_a_dry_run_reports_a_rejected_token_and_quarantines_nothing(
        target: ServerProcess, tmp_path: Path) -> None:
    """The dry run proves the credentials too (it would otherwise plan "nothing to do" with a
    revoked token), but writes nothing: the job is not quarantined by it."""
    job = Job(target, tmp_path)
    assert sync(job).returncode == 0
    revoke(target)
    dry = engine(job, "sync", "--config", str(job.workdir / "job.toml"), "--once", "--dry-run")
    assert dry.returncode == 1 and "Unauthorized" in dry.stderr, (dry.stdout, dry.stderr)
    assert "quarantined" not in dry.stderr
    assert status(job)["quarantine_reason"] is None


def test_a_good_cycle_with_nothing_to_change_releases_the_quarantine(
        target: ServerProcess, tmp_path: Path) -> None:
    """The probe succeeds with the (new) good token: the cycle proved the credentials and
    stayed under the thresholds, so it releases the quarantine although it changed nothing."""
    job = Job(target, tmp_path)
    assert sync(job).returncode == 0
    revoke(target)
    assert sync(job).returncode == 1
    assert status(job)["quarantine_reason"] is not None
    # The admin gives the job the tenant's new token.
    job.token = target.tenants["acme"]["token"] = _current_token(target)  # type: ignore[attr-defined]
    fixed = sync(job)
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)["counts"] == {}
    assert status(job)["quarantine_reason"] is None


def _current_token(target: ServerProcess) -> str:
    return str(json.loads(scimhub("token", "reset", "acme", "--json", env=target.env))["token"])


def job_logs(job: Job) -> str:
    return engine(job, "logs", "--job", "acunetix-360", "--action", "quarantine", "--json").stdout
