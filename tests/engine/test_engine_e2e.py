"""The engine against a real ``scimhub serve``: the target's state is checked through SCIM."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import ServerProcess
from tests.engine.jobs import (
    ENGINEERING_ONLY,
    ENTERPRISE,
    MANAGER,
    STANDARD_USERS,
    TargetView,
    job_toml,
    mapping,
    person,
    run_scimhub,
)


def directory() -> dict[str, Any]:
    return {
        "users": [
            person("u1", "Ada", "Lovelace", mobile="555-0001"),
            person("u2", "Grace", "Hopper", manager="u1"),
            person("u3", "Alan", "Turing", assigned=False),  # in scope through group g1
            person("u4", "Edsger", "Dijkstra", department="Sales"),  # filtered out
            person("u5", "Barbara", "Liskov", assigned=False),  # not assigned at all
            person("u6", "Donald", "Knuth"),
        ],
        "groups": [
            {"objectId": "g1", "displayName": "Pioneers", "assigned": True,
             "members": ["u1", "u2", "u3"]},
            {"objectId": "g2", "displayName": "Unassigned", "members": ["u1"]},
        ],
    }


def config(url: str) -> str:
    """The Acunetix 360 job of these tests, aimed at ``url``."""
    return job_toml(
        "acunetix-360", url, interval="40m", mode="assigned", scope=ENGINEERING_ONLY,
        mappings=STANDARD_USERS + mapping('phoneNumbers[type eq "mobile"].value', "mobile")
        + mapping("displayName", expression='Join(" ", [givenName], [surname])')
        + mapping("externalId", "mailNickname", apply="create") + MANAGER)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("engine-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.tenants = {"acme": proc.create_tenant("acme")}  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()


class Job(TargetView):
    def __init__(self, target: ServerProcess, workdir: Path) -> None:
        self.workdir = workdir
        self.token = target.tenants["acme"]["token"]  # type: ignore[attr-defined]
        self.scim = httpx.Client(base_url=target.scim_url,
                                 headers={"Authorization": f"Bearer {self.token}"})
        (workdir / "job.toml").write_text(config(target.scim_url))
        self.write(directory())

    def write(self, data: dict[str, Any]) -> None:
        (self.workdir / "directory.json").write_text(json.dumps(data))

    def sync(self, *extra: str) -> dict[str, Any]:
        result = run_scimhub(
            "sync", "--config", str(self.workdir / "job.toml"), "--once", "--json",
            "--database", f"sqlite:///{self.workdir}/engine.db", *extra,
            env={"SCIMHUB_TARGET_TOKEN": self.token, "SCIMHUB_KEY_FILE": str(self.workdir / "key")})
        assert result.returncode in (0, 1), result.stderr
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_initial_then_incremental_cycles_converge_on_the_source(
        target: ServerProcess, tmp_path: Path) -> None:
    job = Job(target, tmp_path)
    first = job.sync()
    assert first["kind"] == "initial" and first["failures"] == 0, first
    users = job.users()
    assert set(users) == {"ada@contoso.example", "grace@contoso.example",
                          "alan@contoso.example", "donald@contoso.example"}
    ada = users["ada@contoso.example"]
    assert ada["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert ada["displayName"] == "Ada Lovelace" and ada["active"] is True
    assert ada["emails"] == [{"type": "work", "value": "ada@contoso.example"}]
    assert ada["phoneNumbers"] == [{"type": "mobile", "value": "555-0001"}]
    assert ada["externalId"] == "ada"
    assert users["grace@contoso.example"][ENTERPRISE]["manager"]["value"] == ada["id"]
    assert job.groups() == {"Pioneers": {"ada@contoso.example", "grace@contoso.example",
                                         "alan@contoso.example"}}

    data = directory()
    by_id = {u["objectId"]: u for u in data["users"]}
    data["users"].append(person("u7", "Margaret", "Hamilton"))       # new hire
    by_id["u1"]["surname"] = "King"                                  # renamed
    by_id["u1"]["mobile"] = "555-9999"                               # changed phone
    by_id["u6"]["accountEnabled"] = False                            # disabled account
    data["users"] = [u for u in data["users"] if u["objectId"] != "u3"]  # leaver
    by_id["u2"]["department"] = "Sales"                              # out of scope
    by_id["u7"] = data["users"][-1]
    data["groups"][0]["members"] = ["u1", "u7"]                      # member added/removed
    data["users"].append(person("u8", "Katherine", "Johnson", manager="u7"))
    job.write(data)

    second = job.sync()
    assert second["kind"] == "incremental" and second["failures"] == 0, second
    users = job.users()
    assert users["ada@contoso.example"]["name"]["familyName"] == "King"
    assert users["ada@contoso.example"]["phoneNumbers"][0]["value"] == "555-9999"
    assert users["margaret@contoso.example"]["active"] is True
    assert users["donald@contoso.example"]["active"] is False
    assert users["grace@contoso.example"]["active"] is False, "out of scope → disabled"
    # Issue 11: removed from the source → soft-deleted first (disabled), deleted after
    # [actions] delete_after (30 days by default), as Entra does (docs/entra.md §2.2).
    assert users["alan@contoso.example"]["active"] is False, "removed → soft-deleted"
    margaret = users["margaret@contoso.example"]["id"]
    assert users["katherine@contoso.example"][ENTERPRISE]["manager"]["value"] == margaret
    assert job.groups()["Pioneers"] == {"ada@contoso.example", "margaret@contoso.example"}

    third = job.sync()
    assert third["counts"] == {} and third["failures"] == 0, third
    # Issue 11: a cycle starts by proving the credentials (docs/entra.md §1.2) and reading
    # the target's /Schemas and /ResourceTypes; with nothing changed, nothing else is sent.
    assert third["requests"] <= 3, "nothing changed: only the start-of-cycle reads"


def test_dry_run_plans_without_writing(target: ServerProcess, tmp_path: Path) -> None:
    job = Job(target, tmp_path)
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "dry-" + u["userPrincipalName"]
    job.write(data)
    before = set(job.users())
    plan = job.sync("--dry-run")
    assert plan["dry_run"] is True
    assert {p["identity"] for p in plan["planned"] if p["action"] == "create"} >= {
        "dry-ada@contoso.example"}
    assert set(job.users()) == before


def test_provision_on_demand_runs_one_user_through_every_step(
        target: ServerProcess, tmp_path: Path) -> None:
    """docs/entra.md §2.8: test connection, import, scope, match, perform action, for one user."""
    job = Job(target, tmp_path)
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "pod-" + u["userPrincipalName"]
    job.write(data)

    def provision(object_id: str) -> tuple[int, dict[str, Any]]:
        result = subprocess.run(
            [sys.executable, "-m", "scimhub", "provision", "--config",
             str(tmp_path / "job.toml"), "--job", "acunetix-360", "--user", object_id, "--json",
             "--database", f"sqlite:///{tmp_path}/engine.db"],
            capture_output=True, text=True, timeout=60, check=False,
            env={"SCIMHUB_TARGET_TOKEN": job.token, "PATH": "/usr/bin:/bin"})
        return result.returncode, dict(json.loads(result.stdout))

    code, report = provision("u6")
    assert code == 0, report
    assert [s["step"] for s in report["steps"]] == [
        "Test connection", "Import user", "Determine if user is in scope",
        "Match user between source and target", "Perform action"]
    assert report["steps"][-1]["detail"] == "create (success)"
    assert "pod-donald@contoso.example" in job.users()
    code, again = provision("u6")
    assert again["steps"][3]["detail"].startswith("already linked to target id")
    assert again["steps"][-1]["detail"].startswith("skip")
    code, outside = provision("u4")
    assert outside["steps"][2]["detail"] == "out of scope"
    assert "Engineering only department EQUALS Engineering: false" in outside["steps"][2]["details"]
    assert "pod-edsger@contoso.example" not in job.users()
    code, missing = provision("nobody")
    assert code == 1 and "no user with objectId nobody" in missing["steps"][1]["detail"]


def test_provision_on_demand_for_a_small_group(target: ServerProcess, tmp_path: Path) -> None:
    """docs/entra.md §2.8: a group of at most five members, its members first."""
    job = Job(target, tmp_path)
    data = directory()
    for u in data["users"]:
        u["userPrincipalName"] = "podg-" + u["userPrincipalName"]
    data["groups"][0]["displayName"] = "On demand pioneers"
    job.write(data)
    result = subprocess.run(
        [sys.executable, "-m", "scimhub", "provision", "--config", str(tmp_path / "job.toml"),
         "--job", "acunetix-360", "--group", "g1", "--json",
         "--database", f"sqlite:///{tmp_path}/engine.db"],
        capture_output=True, text=True, timeout=60, check=False,
        env={"SCIMHUB_TARGET_TOKEN": job.token, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert job.groups()["On demand pioneers"] == {
        "podg-ada@contoso.example", "podg-grace@contoso.example", "podg-alan@contoso.example"}
