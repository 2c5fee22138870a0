"""``[target] rate``: the engine caps its requests to a target that publishes a limit, and still
waits out a 429's Retry-After when the target limits it (a real ``scimhub serve`` with a tenant
limit is such a target)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.engine.config import ConfigError, load_jobs
from tests.e2e.server import ServerProcess
from tests.engine.jobs import STANDARD_USERS, job_toml, person, run_scimhub


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A scimhub serve whose tenants are each limited to 10 requests a second."""
    workdir = tmp_path_factory.mktemp("rate-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir,
                         args=("--tenant-rate-limit", "10/s"))
    proc.start()
    yield proc
    proc.stop()


def _tenant(target: ServerProcess, name: str) -> str:
    return target.create_tenant(name)["token"]


def _sync(target: ServerProcess, workdir: Path, token: str, users: int,
          rate: str | None) -> tuple[dict[str, Any], float]:
    text = job_toml("rated", target.scim_url, mappings=STANDARD_USERS)
    if rate is not None:
        text = text.replace("[scope]", f'rate = "{rate}"\n\n[scope]')
    (workdir / "job.toml").write_text(text)
    (workdir / "directory.json").write_text(json.dumps(
        {"users": [person(f"u{i}", f"User{i}", "Rated") for i in range(users)], "groups": []}))
    started = time.monotonic()
    result = run_scimhub("sync", "--config", str(workdir / "job.toml"), "--once", "--json",
                         "--database", f"sqlite:///{workdir}/engine.db",
                         env={"SCIMHUB_TARGET_TOKEN": token,
                              "SCIMHUB_KEY_FILE": str(workdir / "key")})
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1])), elapsed


def _users(target: ServerProcess, token: str) -> int:
    listed = httpx.get(f"{target.scim_url}/Users", params={"count": 0},
                       headers={"Authorization": f"Bearer {token}"}).json()
    return int(listed["totalResults"])


def test_a_rate_below_the_targets_limit_is_never_refused_and_paces_the_cycle(
        target: ServerProcess, tmp_path: Path) -> None:
    token = _tenant(target, "paced")
    # 16 users: enough requests for the pace to show even when a first cycle matches them by
    # one listing rather than a probe each (engine/cycle/roster.py).
    summary, elapsed = _sync(target, tmp_path, token, 16, "4/s")
    assert summary["failures"] == 0 and _users(target, token) == 16, summary
    assert summary["retries"] == 0, "never over the target's 10/s: no 429 to wait out"
    # At most 4 in any second: the requests after the first 4 took a quarter second each.
    floor = (summary["requests"] - 4) / 4
    assert floor >= 3 and elapsed >= floor, (summary["requests"], elapsed)


def test_without_a_rate_the_engine_waits_out_the_targets_429s(
        target: ServerProcess, tmp_path: Path) -> None:
    token = _tenant(target, "throttled")
    summary, _elapsed = _sync(target, tmp_path, token, 25, None)
    assert summary["failures"] == 0 and _users(target, token) == 25, summary
    assert summary["retries"] > 0, "concurrency 8 against 10/s: refused, then let in"


def test_a_rate_that_does_not_read_stops_the_job_at_load(tmp_path: Path) -> None:
    path = tmp_path / "job.toml"
    path.write_text(job_toml("bad", "http://127.0.0.1:9/scim/v2", token="t").replace(
        "[scope]", 'rate = "fast"\n\n[scope]'))
    with pytest.raises(ConfigError, match=r"\[target\] rate: 'fast' is not a rate"):
        load_jobs(path)
    path.write_text(job_toml("good", "http://127.0.0.1:9/scim/v2", token="t").replace(
        "[scope]", 'rate = "50 per second"\n\n[scope]'))
    (job,) = load_jobs(path)
    assert job.target.rate is not None and job.target.rate.text == "50/s"


def test_sync_refuses_a_bad_rate_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "job.toml"
    path.write_text(job_toml("bad", "http://127.0.0.1:9/scim/v2", token="t").replace(
        "[scope]", 'rate = "0/s"\n\n[scope]'))
    done = subprocess.run([sys.executable, "-m", "scimhub", "sync", "--config", str(path),
                           "--once", "--database", f"sqlite:///{tmp_path}/e.db"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "[target] rate" in done.stderr, done.stderr
