"""The engine killed with SIGKILL in the middle of an initial cycle, then started again: the
target ends in exactly the source's state, with no duplicate user, group or membership.

Against scimhub a second create would be refused with 409, so the test also runs against a
target that keeps duplicates (``permissive_target.py``), and counts on the target itself: the
users created before the kill but not yet recorded by the engine must be matched, not created
again. Between the engine and scimhub a proxy without faults counts the POSTs that arrive."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.engine.sample import sample_directory
from tests.e2e.server import ServerProcess, free_port
from tests.engine.fault_proxy import FaultProxy
from tests.engine.permissive_target import PermissiveTarget
from tests.engine.test_engine_e2e import config, target  # noqa: F401
from tests.engine.test_lost_answers import scim_lister

DOMAIN = "crash.example"


@dataclass
class Upstream:
    url: str
    token: str
    listed: Callable[[str], list[dict[str, Any]]]
    created: Callable[[], int]  # how many of the test's users the target holds now


@pytest.fixture(params=["scimhub", "permissive"])
def upstream(request: pytest.FixtureRequest) -> Iterator[Upstream]:
    if request.param == "permissive":
        with PermissiveTarget(free_port()) as permissive:
            yield Upstream(permissive.scim_url, permissive.token, permissive.listed,
                           lambda: len(permissive.resources["Users"]))
        return
    server: ServerProcess = request.getfixturevalue("target")
    secret = str(server.tenants["acme"]["token"])  # type: ignore[attr-defined]
    http = httpx.Client(base_url=server.scim_url, headers={"Authorization": f"Bearer {secret}"})

    def created() -> int:
        return int(http.get("/Users", params={"filter": f'userName ew "{DOMAIN}"',
                                              "count": 0}).json()["totalResults"])

    yield Upstream(server.scim_url, secret, scim_lister(server.scim_url, secret), created)
    http.close()


def run_engine(workdir: Path, secret: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scimhub", "sync", "--config", str(workdir / "job.toml"),
         "--once", "--json", "--database", f"sqlite:///{workdir}/engine.db"],
        env={"SCIMHUB_TARGET_TOKEN": secret, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_mid_cycle_then_rerun_converges_without_duplicates(
        upstream: Upstream, tmp_path: Path) -> None:
    data = sample_directory(users=600, groups=6, members=40, domain=DOMAIN)
    for group in data["groups"]:
        group["displayName"] = "Crash " + group["displayName"]
    (tmp_path / "directory.json").write_text(json.dumps(data))
    with FaultProxy(upstream.url, free_port(), rate=0.0) as proxy:
        text = config(proxy.url)  # the default mappings:
        (tmp_path / "job.toml").write_text(text.split("[[scope.filters]]")[0].replace(
            'mode = "assigned"', 'mode = "all"'))
        engine = run_engine(tmp_path, upstream.token)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (created := upstream.created()) < 150:
            time.sleep(0.05)
        engine.kill()
        engine.wait()
        assert 0 < created < 600, "the kill must land in the middle of the cycle"

        rerun = run_engine(tmp_path, upstream.token)
        out, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, out.decode() + err.decode()
        assert json.loads(out)["failures"] == 0
    twice = {name: n for name, n in proxy.posts.items() if n > 1}
    assert not twice, f"creates that reached the target more than once: {twice}"

    users = [u for u in upstream.listed("Users") if u["userName"].endswith(f"@{DOMAIN}")]
    names = Counter(u["userName"] for u in users)
    assert len(names) == 600 and max(names.values()) == 1, "every user, once"
    groups = [g for g in upstream.listed("Groups") if g["displayName"].startswith("Crash ")]
    titles = Counter(g["displayName"] for g in groups)
    assert len(titles) == 6 and max(titles.values()) == 1, "every group, once"
    by_user = {u["id"]: u["userName"] for u in users}
    upn = {u["objectId"]: u["userPrincipalName"] for u in data["users"]}
    for group in data["groups"]:
        found = next(g for g in groups if g["displayName"] == group["displayName"])
        members = sorted(by_user[m["value"]] for m in found.get("members", []))
        assert members == sorted(upn[m] for m in group["members"]), "every member, once"
