"""Issue 11 §2: the engine decides as Entra does, end to end against a real ``scimhub serve``.

Each test runs ``scimhub sync`` (and ``provision``, ``logs``) as a user would, and reads the
target through SCIM. Each reproduces a defect of the engine before issue 11: run against that
code (``PYTHONPATH`` is passed on to the processes), every test here fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.e2e.server import ServerProcess, free_port
from tests.engine.jobs import ACTIVE, USER_NAME, job_toml, mapping, run_scimhub
from tests.engine.permissive_target import PermissiveTarget, _error


def person(oid: str, upn: str, **extra: Any) -> dict[str, Any]:
    return {"objectId": oid, "userPrincipalName": upn, "displayName": oid.upper(),
            "mailNickname": f"nick-{oid}", "accountEnabled": True, "assigned": True,
            "department": "Engineering", **extra}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("decisions-target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/target.db", workdir=workdir)
    proc.tenants = {"acme": proc.create_tenant("acme")}  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()


class Engine:
    """One job (its TOML, its directory file, its engine database) run through the CLI."""

    def __init__(self, url: str, token: str, workdir: Path, *, scope: str = "",
                 actions: str = "", mappings: str = ACTIVE) -> None:
        self.workdir, self.token = workdir, token
        self.scim = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        (workdir / "job.toml").write_text(job_toml(
            "decisions", url, mode="assigned", scope=scope, actions=actions,
            mappings=USER_NAME + mapping("displayName", "displayName") + mappings))

    def write(self, users: list[dict[str, Any]], groups: list[dict[str, Any]] | None = None
              ) -> None:
        (self.workdir / "directory.json").write_text(
            json.dumps({"users": users, "groups": groups or []}))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"SCIMHUB_TARGET_TOKEN": self.token, "SCIMHUB_KEY_FILE": str(self.workdir / "key")}
        if "PYTHONPATH" in os.environ:  # to run the same test against another checkout
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        return run_scimhub(*args, "--database", f"sqlite:///{self.workdir}/engine.db", env=env)

    def sync(self, *extra: str) -> dict[str, Any]:
        result = self.run("sync", "--config", str(self.workdir / "job.toml"), "--once",
                          "--json", *extra)
        assert result.returncode in (0, 1), result.stderr
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    def logs(self) -> list[dict[str, Any]]:
        result = self.run("logs", "--job", "decisions", "--json")
        assert result.returncode == 0, result.stderr
        return list(json.loads(result.stdout))

    def user(self, upn: str) -> dict[str, Any] | None:
        found = self.scim.get("/Users", params={"filter": f'userName eq "{upn}"'}).json()
        return found["Resources"][0] if found["Resources"] else None


def engine(target: ServerProcess, tmp_path: Path, **options: str) -> Engine:
    token = str(target.tenants["acme"]["token"])  # type: ignore[attr-defined]
    return Engine(target.scim_url, token, tmp_path, **options)


def test_redacted_values_reach_neither_log_nor_plan_nor_on_demand(
        target: ServerProcess, tmp_path: Path) -> None:
    """``nickName <- Redact([mailNickname])``: the target gets the value; the provisioning
    log, the dry-run plan and provision on demand show ``[Redact]`` (docs/entra.md §2.6)."""
    job = engine(target, tmp_path, mappings=ACTIVE + '''
[[mappings.users]]
target = "nickName"
expression = 'Redact([mailNickname])'
''')
    job.write([person("r1", "redact1@contoso.example", mailNickname="secretnick1"),
               person("r2", "redact2@contoso.example", mailNickname="secretnick2")])
    plan = job.sync("--dry-run")
    assert plan["planned"] and "secretnick" not in json.dumps(plan)
    assert "[Redact]" in json.dumps(plan)
    assert job.sync()["failures"] == 0
    provisioned = job.user("redact1@contoso.example")
    assert provisioned is not None and provisioned["nickName"] == "secretnick1"
    job.write([person("r1", "redact1@contoso.example", mailNickname="secretnick9"),
               person("r2", "redact2@contoso.example", mailNickname="secretnick2")])
    assert job.sync()["failures"] == 0  # an update: old and new value both redacted
    logs = job.logs()
    assert "secretnick" not in json.dumps(logs)
    assert any(m.get("new") == "[Redact]" and m.get("old") == "[Redact]"
               for e in logs for m in e["modified"])
    on_demand = job.run("provision", "--config", str(tmp_path / "job.toml"), "--job",
                        "decisions", "--user", "r2", "--json")
    assert "secretnick" not in on_demand.stdout and "[Redact]" in on_demand.stdout


def test_duplicate_source_entries_are_skipped_and_never_share_a_target_object(
        target: ServerProcess, tmp_path: Path) -> None:
    """Two source users with one matching value: neither is created or linked
    (DuplicateSourceEntries, docs/entra.md §2.3); one already linked keeps its link."""
    job = engine(target, tmp_path)
    job.write([person("d1", "twin@contoso.example"), person("d2", "twin@contoso.example")])
    job.sync()
    assert job.user("twin@contoso.example") is None
    skipped = [e for e in job.logs() if e["error_code"] == "DuplicateSourceEntries"]
    assert {e["source_id"] for e in skipped} == {"d1", "d2"}
    assert all(e["status"] == "skipped" for e in skipped)

    job.write([person("d1", "twin@contoso.example")])
    assert job.sync()["failures"] == 0
    twin = job.user("twin@contoso.example")
    assert twin is not None and twin["displayName"] == "D1"
    # A newcomer with the same value: the linked one keeps its link and its values.
    job.write([person("d1", "twin@contoso.example"),
               person("d3", "twin@contoso.example", displayName="Impostor")])
    job.sync()
    job.sync()
    twin = job.user("twin@contoso.example")
    assert twin is not None and twin["displayName"] == "D1"
    assert any(e["source_id"] == "d3" and e["error_code"] == "DuplicateSourceEntries"
               for e in job.logs())


def test_a_user_disabled_in_the_source_is_not_created(
        target: ServerProcess, tmp_path: Path) -> None:
    """Entra provisions no disabled user; it only disables one it manages (§2.2)."""
    job = engine(target, tmp_path)
    job.write([person("x1", "off@contoso.example", accountEnabled=False),
               person("x2", "on@contoso.example")])
    assert job.sync()["failures"] == 0
    assert job.user("off@contoso.example") is None
    assert job.user("on@contoso.example") is not None
    [skip] = [e for e in job.logs() if e["source_id"] == "x1"]
    assert skip["status"] == "skipped" and "disabled in the source" in skip["detail"]
    job.write([person("x1", "off@contoso.example"),
               person("x2", "on@contoso.example", accountEnabled=False)])
    job.sync()
    enabled, disabled = job.user("off@contoso.example"), job.user("on@contoso.example")
    assert enabled is not None and enabled["active"] is True
    assert disabled is not None and disabled["active"] is False, "managed: disabled"


def test_a_removed_user_is_disabled_then_deleted_after_delete_after(
        target: ServerProcess, tmp_path: Path) -> None:
    """Soft delete first, hard delete later, and only while managed (docs/entra.md §1.5)."""
    job = engine(target, tmp_path)
    users = [person("g1", "gone1@contoso.example"), person("g2", "gone2@contoso.example"),
             person("g3", "gone3@contoso.example")]
    job.write(users)
    assert job.sync()["failures"] == 0
    job.write([users[1], {**users[2], "assigned": False}])  # g1 removed; g3 unassigned
    job.sync()
    first = job.user("gone1@contoso.example")
    assert first is not None and first["active"] is False, "removed: soft-deleted, kept"
    unassigned = job.user("gone3@contoso.example")
    assert unassigned is not None and unassigned["active"] is False
    assert job.sync()["counts"].get("delete", 0) == 0, "30 days have not passed"
    assert job.user("gone1@contoso.example") is not None

    config = tmp_path / "job.toml"
    config.write_text(config.read_text().replace("[actions]\n", '[actions]\ndelete_after = "0"\n'))
    job.write([users[1]])  # g3 (no longer managed: out of scope) leaves the source too
    job.sync()
    assert job.user("gone1@contoso.example") is None, "due: deleted"
    assert job.user("gone3@contoso.example") is not None, "not managed: left alone"
    job.write([])
    job.sync()
    assert job.user("gone2@contoso.example") is None, "delete_after 0: deleted at once"


def test_without_an_active_mapping_leaving_scope_sends_no_disable(
        target: ServerProcess, tmp_path: Path) -> None:
    """Disable is the IsSoftDeleted mapping's doing: none, no ``active:false`` (§1.5)."""
    job = engine(target, tmp_path, mappings="")
    job.write([person("n1", "noactive@contoso.example")])
    assert job.sync()["failures"] == 0
    job.write([person("n1", "noactive@contoso.example", assigned=False)])
    job.sync()
    user = job.user("noactive@contoso.example")
    assert user is not None and user.get("active", True) is True
    assert any(e["source_id"] == "n1" and e["status"] == "skipped"
               and "no mapping targets 'active'" in (e["detail"] or "") for e in job.logs())


def test_skip_out_of_scope_deletions_leaves_the_target_alone(
        target: ServerProcess, tmp_path: Path) -> None:
    job = engine(target, tmp_path, actions="skip_out_of_scope_deletions = true")
    job.write([person("s1", "skipped-out@contoso.example")])
    assert job.sync()["failures"] == 0
    job.write([person("s1", "skipped-out@contoso.example", assigned=False)])
    job.sync()
    user = job.user("skipped-out@contoso.example")
    assert user is not None and user["active"] is True
    assert any(e["error_code"] == "SkipOutOfScopeDeletions" for e in job.logs())


def test_group_scoping_filters(target: ServerProcess, tmp_path: Path) -> None:
    job = engine(target, tmp_path, scope='''
[[scope.group_filters]]
title = "Teams only"
clauses = [{ attribute = "displayName", operator = "REGEX MATCH", value = "Team .*" }]
''', mappings=ACTIVE)
    job.write([person("f1", "filtered@contoso.example")],
              [{"objectId": "gf1", "displayName": "Team Rocket", "assigned": True,
                "members": ["f1"]},
               {"objectId": "gf2", "displayName": "Club Filtered", "assigned": True,
                "members": ["f1"]}])
    assert job.sync()["failures"] == 0
    names = {g["displayName"] for g in job.scim.get("/Groups", params={"count": 1000})
             .json()["Resources"]}
    assert "Team Rocket" in names and "Club Filtered" not in names
    [skip] = [e for e in job.logs() if e["source_id"] == "gf2"]
    assert skip["status"] == "skipped" and "displayName REGEX MATCH Team .*" in skip["detail"]


def test_out_of_scope_objects_are_logged_once_with_the_failing_clause(
        target: ServerProcess, tmp_path: Path) -> None:
    job = engine(target, tmp_path, scope='''
[[scope.filters]]
title = "Engineering"
clauses = [{ attribute = "department", operator = "EQUALS", value = "Engineering" }]
''')
    job.write([person("o1", "scoped-in@contoso.example"),
               person("o2", "scoped-out@contoso.example", department="Sales")])
    job.sync()
    job.sync()  # nothing changed: no second entry
    [entry] = [e for e in job.logs() if e["source_id"] == "o2"]
    assert entry["status"] == "skipped"
    assert "Engineering department EQUALS Engineering" in entry["detail"]
    assert job.user("scoped-out@contoso.example") is None


def test_an_object_deleted_out_of_band_is_invalid_anchor_then_created_again(
        target: ServerProcess, tmp_path: Path) -> None:
    job = engine(target, tmp_path)
    job.write([person("a1", "anchor@contoso.example")])
    assert job.sync()["failures"] == 0
    first = job.user("anchor@contoso.example")
    assert first is not None
    assert job.scim.delete(f"/Users/{first['id']}").status_code == 204  # out of band
    job.write([person("a1", "anchor@contoso.example", displayName="Renamed")])
    job.sync()
    assert any(e["error_code"] == "InvalidAnchor" for e in job.logs())
    job.sync()
    again = job.user("anchor@contoso.example")
    assert again is not None and again["id"] != first["id"]
    assert again["displayName"] == "Renamed"


def test_log_entries_carry_entras_steps(target: ServerProcess, tmp_path: Path) -> None:
    job = engine(target, tmp_path)
    job.write([person("t1", "steps@contoso.example")])
    job.sync()
    [created] = [e for e in job.logs() if e["source_id"] == "t1"]
    assert [s["step"] for s in created["steps"]] == ["import", "scope", "match", "action"]
    assert created["steps"][-1]["outcome"] == "success"


class KeepsDanglingMembers(PermissiveTarget):
    """A target that keeps a deleted user in its groups, as scim2-server does."""

    async def _delete(self, request: web.Request) -> web.Response:
        kind, rid = request.match_info["kind"], request.match_info["id"]
        if self.resources[kind].pop(rid, None) is None:
            return _error(404, f"no {kind} {rid}")
        return web.Response(status=204)


def test_deleting_a_user_removes_it_from_its_groups_first(tmp_path: Path) -> None:
    """A target that keeps a deleted user's memberships is left with no dangling member:
    the engine sends the removals the directory implies before the DELETE."""
    with KeepsDanglingMembers(free_port()) as permissive:
        job = Engine(permissive.scim_url, permissive.token, tmp_path,
                     actions='delete_after = "0"')
        users = [person("m1", "member1@contoso.example"),
                 person("m2", "member2@contoso.example")]
        group = {"objectId": "mg", "displayName": "Members", "assigned": True,
                 "members": ["m1", "m2"]}
        job.write(users, [group])
        assert job.sync()["failures"] == 0
        [listed] = permissive.listed("Groups")
        assert len(listed["members"]) == 2
        job.write(users[1:], [group])  # m1 removed from the directory, still listed
        assert job.sync()["failures"] == 0
        remaining = {u["id"] for u in permissive.listed("Users")}
        [listed] = permissive.listed("Groups")
        assert {m["value"] for m in listed["members"]} <= remaining
        assert len(listed["members"]) == 1


def test_a_target_object_linked_to_one_source_object_is_never_linked_to_another(
        target: ServerProcess, tmp_path: Path) -> None:
    """The match finds a target object another source object owns: a failure, not a link."""
    job = engine(target, tmp_path, actions="update = false")
    job.write([person("l1", "owned@contoso.example")])
    assert job.sync()["failures"] == 0
    # l1 moves to another name (not sent: updates are off), and l3 takes its old one.
    job.write([person("l1", "moved@contoso.example"), person("l3", "owned@contoso.example")])
    summary = job.sync()
    assert summary["failures"] == 1, summary
    [failure] = [e for e in job.logs() if e["source_id"] == "l3"]
    assert failure["status"] == "failure"
    assert failure["error_code"] == "DuplicateSourceEntries"
    assert "linked to source object l1" in failure["detail"]


class EchoesValues(PermissiveTarget):
    """A target whose 400 quotes what it was sent, as many SaaS error messages do."""

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        return _error(400, f"invalid nickName {body.get('nickName')!r} for "
                           f"{body.get('userName')!r}", "invalidValue")


def test_a_target_error_quoting_a_redacted_value_is_logged_redacted(tmp_path: Path) -> None:
    """The value sent through ``Redact()`` is hidden in the failure the target answered with,
    in the log and in the failure's steps; the other values stay readable."""
    with EchoesValues(free_port()) as echoing:
        job = Engine(echoing.scim_url, echoing.token, tmp_path, mappings=ACTIVE + '''
[[mappings.users]]
target = "nickName"
expression = 'Redact([mailNickname])'
''')
        job.write([person("e1", "echo1@contoso.example", mailNickname="secretnick-echo")])
        assert job.sync()["failures"] == 1
        [failure] = [e for e in job.logs() if e["status"] == "failure"]
        assert "secretnick" not in json.dumps(failure)
        assert "[Redact]" in failure["detail"] and "echo1@contoso.example" in failure["detail"]
