"""The engine end to end against a second SCIM implementation: scim2-server.

scimhub as a target forgives things another server does not: it drops a deleted user's
memberships itself, while scim2-server (the python-scim project's reference server) keeps the
dangling reference in the group. So every cycle here is checked through the target's own GETs,
and the membership assertions are about what the engine sent, whatever the target does on
delete. Each test gets an empty, in-memory scim2-server of its own (``scim2_target.py``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine.jobs import (
    ENGINEERING_ONLY,
    ENTERPRISE,
    MANAGER,
    STANDARD_USERS,
    job_toml,
    mapping,
    person,
    run_scimhub,
)
from tests.engine.scim2_target import Scim2Server

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"



def config(url: str, extra: str = "") -> str:
    """The job of these tests, aimed at ``url``; ``extra`` mappings after the standard ones."""
    return job_toml("second-target", url, mode="assigned", scope=ENGINEERING_ONLY,
                    actions='delete_after = "0"',
                    mappings=STANDARD_USERS + mapping(f"{ENTERPRISE}:department", "department")
                    + MANAGER + extra)


def directory() -> dict[str, Any]:
    return {
        "users": [
            person("u1", "Ada", "Lovelace"),
            person("u2", "Grace", "Hopper", manager="u1"),
            person("u3", "Alan", "Turing", assigned=False),  # in scope through group g1
            person("u4", "Edsger", "Dijkstra", department="Sales"),  # filtered out
            person("u6", "Donald", "Knuth"),
        ],
        "groups": [
            {"objectId": "g1", "displayName": "Pioneers", "assigned": True,
             "members": ["u1", "u2", "u3", "u6"]},
        ],
    }


@pytest.fixture
def scim2(tmp_path: Path) -> Iterator[Scim2Server]:
    server = Scim2Server(tmp_path).start()
    yield server
    server.stop()


class Job:
    """A job file, its source and its engine database in ``workdir``, aimed at ``target``."""

    def __init__(self, target: Scim2Server, workdir: Path, extra: str = "") -> None:
        self.workdir = workdir
        self.target = target
        self.scim = target.client()
        (workdir / "job.toml").write_text(config(target.scim_url, extra))
        self.write(directory())

    def write(self, data: dict[str, Any]) -> None:
        (self.workdir / "directory.json").write_text(json.dumps(data))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_scimhub(
            *args, "--config", str(self.workdir / "job.toml"), timeout=180,
            env={"SCIMHUB_TARGET_TOKEN": self.target.token,
                 "SCIMHUB_KEY_FILE": str(self.workdir / "key")})

    def sync(self) -> dict[str, Any]:
        done = self.run("sync", "--once", "--json", "--database",
                        f"sqlite:///{self.workdir}/engine.db")
        assert done.returncode in (0, 1), done.stdout + done.stderr
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def users(self) -> dict[str, dict[str, Any]]:
        listed = self.scim.get("/Users", params={"count": 1000}).json().get("Resources", [])
        return {u["userName"]: u for u in listed}

    def group(self, name: str) -> dict[str, Any]:
        listed = self.scim.get("/Groups", params={"count": 1000}).json().get("Resources", [])
        return next(g for g in listed if g["displayName"] == name)

    def member_names(self, name: str) -> set[str]:
        """The group's members by userName; a member whose user is gone shows as 'gone:id'."""
        names = set()
        for member in self.group(name).get("members", []):
            answer = self.scim.get(f"/Users/{member['value']}")
            names.add(answer.json()["userName"] if answer.status_code == 200
                      else f"gone:{member['value']}")
        return names


def test_cycles_against_scim2_server_converge_on_the_source(
        scim2: Scim2Server, tmp_path: Path) -> None:
    job = Job(scim2, tmp_path)
    first = job.sync()
    assert first["kind"] == "initial" and first["failures"] == 0, first
    users = job.users()
    assert set(users) == {"ada@contoso.example", "grace@contoso.example",
                          "alan@contoso.example", "donald@contoso.example"}
    ada = users["ada@contoso.example"]
    assert ada["name"]["familyName"] == "Lovelace" and ada["active"] is True
    assert ada["emails"][0]["value"] == "ada@contoso.example"
    assert ada[ENTERPRISE]["department"] == "Engineering"
    assert users["grace@contoso.example"][ENTERPRISE]["manager"]["value"] == ada["id"]
    assert job.member_names("Pioneers") == {"ada@contoso.example", "grace@contoso.example",
                                            "alan@contoso.example", "donald@contoso.example"}

    data = directory()
    by_id = {u["objectId"]: u for u in data["users"]}
    by_id["u1"]["surname"] = "King"                                       # a change
    by_id["u2"]["department"] = "Sales"                                   # a leaver (scope)
    data["users"] = [u for u in data["users"] if u["objectId"] != "u6"]   # deleted user
    data["users"].append(person("u7", "Katherine", "Johnson"))
    data["groups"][0]["members"] = ["u1", "u3", "u7"]       # grace out, katherine in, donald gone
    job.write(data)

    second = job.sync()
    assert second["kind"] == "incremental" and second["failures"] == 0, second
    users = job.users()
    assert users["ada@contoso.example"]["name"]["familyName"] == "King"
    assert users["grace@contoso.example"]["active"] is False, "left scope: disabled"
    assert users["alan@contoso.example"]["active"] is True, "still in scope through g1"
    assert users["katherine@contoso.example"]["active"] is True
    # The membership the directory implies, whatever scim2-server does with a deleted user's
    # memberships (it keeps them): the engine must have removed donald itself.
    members = job.member_names("Pioneers")
    assert not any(m.startswith("gone:") for m in members), f"dangling member: {members}"
    assert members == {"ada@contoso.example", "alan@contoso.example",
                       "katherine@contoso.example"}, members

    third = job.sync()
    assert third["counts"] == {} and third["failures"] == 0, third
    assert job.member_names("Pioneers") == members


def test_a_mapping_the_target_lacks_fails_before_anything_is_written(
        scim2: Scim2Server, tmp_path: Path) -> None:
    """scim2-server advertises no custom extension: binding names the mapping and stops."""
    extra = f'\n[[mappings.users]]\ntarget = "{CUSTOM}:costCenterCode"\nsource = "department"\n'
    job = Job(scim2, tmp_path, extra)
    why = (f"mappings.users[7] ({CUSTOM}:costCenterCode): the target ({scim2.scim_url}) "
           f"has no extension {CUSTOM} for User")
    done = job.run("sync", "--once", "--json", "--database", f"sqlite:///{tmp_path}/engine.db")
    assert done.returncode == 1, done.stdout + done.stderr
    assert why in done.stderr, "accepted at load, refused when bound: " + done.stderr
    listed = job.run("job", "schema", "second-target", "--json")
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert any(why in p for p in json.loads(listed.stdout)["mappings"]["problems"])
    assert job.users() == {}, "nothing written"
    assert httpx.get(f"{scim2.scim_url}/Groups", headers={
        "Authorization": f"Bearer {scim2.token}"}).json().get("totalResults") == 0


def test_job_schema_lists_the_attributes_scim2_server_advertises(
        scim2: Scim2Server, tmp_path: Path) -> None:
    job = Job(scim2, tmp_path)
    done = job.run("job", "schema", "second-target", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    listing = json.loads(done.stdout)
    assert listing["origin"] == "discovered" and listing["url"] == scim2.scim_url
    rows = {(r["resource"], r["name"]): r for r in listing["attributes"]}
    user_name = rows[("User", "userName")]
    assert user_name["required"] is True and user_name["type"] == "string"
    assert user_name["extension"] is None
    cost = rows[("User", f"{ENTERPRISE}:costCenter")]
    assert cost["extension"] == ENTERPRISE and cost["mutability"] == "readWrite"
    assert rows[("User", "emails")]["multi_valued"] is True
    assert rows[("User", "id")]["mutability"] == "readOnly"
    assert rows[("Group", "members")]["multi_valued"] is True
    text = job.run("job", "schema", "second-target")
    assert text.returncode == 0 and f"{ENTERPRISE}:costCenter" in text.stdout, text.stdout


def test_test_connection_with_a_job_file_checks_its_mappings(
        scim2: Scim2Server, tmp_path: Path) -> None:
    """``scimhub test-connection --config``: the job's target, and its mappings bound to what
    scim2-server advertises (Entra's Test Connection knows no job; this is the check the job's
    next cycle starts with)."""
    good = Job(scim2, tmp_path)
    done = good.run("test-connection", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["tenant_url"] == scim2.scim_url
    steps = {s["name"]: s for s in report["steps"]}
    assert f"User: urn:ietf:params:scim:schemas:core:2.0:User + {ENTERPRISE}" in \
        steps["Schemas"]["detail"]
    assert steps["mappings"]["ok"] and "mappings of job second-target bound" in \
        steps["mappings"]["detail"]
    (tmp_path / "bad").mkdir()
    extra = f'\n[[mappings.users]]\ntarget = "{CUSTOM}:costCenterCode"\nsource = "department"\n'
    bad = Job(scim2, tmp_path / "bad", extra).run("test-connection")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"✗ mappings: job second-target: mappings.users[7] ({CUSTOM}:costCenterCode)" in \
        bad.stdout
