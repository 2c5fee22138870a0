"""``scimhub test-connection --config`` proves the job's source as well as its target: the
source's ``check()`` steps are in the report, and one failing fails the test (exit 1)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from scimhub.engine.config import SourceConfig, load_jobs
from scimhub.engine.errors import SourceError
from scimhub.engine.sources import SOURCES
from scimhub.engine.sources.base import SourceCheck
from scimhub.engine.target.connection import test_connection
from tests.e2e.server import ServerProcess
from tests.engine.test_delta_source import ScriptedSource
from tests.engine.test_engine_e2e import Job, target  # noqa: F401


def run(job: Job, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scimhub", "test-connection", "--config",
         str(job.workdir / "job.toml"), *extra],
        capture_output=True, text=True, timeout=60, check=False,
        env={"SCIMHUB_TARGET_TOKEN": job.token, "PATH": "/usr/bin:/bin"})


def test_the_file_source_is_read_and_counted(target: ServerProcess, tmp_path: Path  # noqa: F811
                                             ) -> None:
    job = Job(target, tmp_path)
    done = run(job, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = {s["name"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["source: read the file"]["ok"]
    assert steps["source: read the file"]["detail"].endswith("6 users, 2 groups")
    text = run(job)
    assert "✓ source: read the file: " in text.stdout and "Connection OK." in text.stdout


def test_a_source_that_cannot_be_read_fails_the_test(target: ServerProcess,  # noqa: F811
                                                     tmp_path: Path) -> None:
    job = Job(target, tmp_path)
    (tmp_path / "directory.json").unlink()
    failed = run(job)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "✗ source: read the file: " in failed.stdout and "no such file" in failed.stdout
    assert "✓ user probe" in failed.stdout, "the target's steps still ran"
    assert "Connection failed: source: read the file" in failed.stdout


def test_every_check_step_of_a_source_is_reported(
        target: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """A directory source's steps (bind, base DN, what the filters select), each its own."""
    job = Job(target, tmp_path)
    monkeypatch.setenv("SCIMHUB_TARGET_TOKEN", job.token)
    [loaded] = load_jobs(tmp_path / "job.toml")
    config = dataclasses.replace(loaded, source=SourceConfig(cast(Any, "scripted"), None, {}))
    source = ScriptedSource()

    async def check() -> list[SourceCheck]:
        return [SourceCheck("bind", True, "bound as cn=scimhub,dc=example,dc=com"),
                SourceCheck("base DN", False, "dc=nowhere,dc=com: noSuchObject")]

    source.check = check  # type: ignore[method-assign]
    monkeypatch.setitem(SOURCES, "scripted", lambda _config: source)
    report = asyncio.run(test_connection(config.target.url, job.token, job=config))
    names = [(s.name, s.ok) for s in report.steps]
    assert names[-2:] == [("source: bind", True), ("source: base DN", False)]
    assert not report.ok and report.reason == "source: base DN: dc=nowhere,dc=com: noSuchObject"

    def refuse(_config: SourceConfig) -> ScriptedSource:
        raise SourceError("SCIMHUB_LDAP_PASSWORD is not set")

    monkeypatch.setitem(SOURCES, "scripted", refuse)
    report = asyncio.run(test_connection(config.target.url, job.token, job=config))
    assert report.steps[-1].name == "source (scripted)" and not report.ok
    assert "SCIMHUB_LDAP_PASSWORD is not set" in report.steps[-1].detail
