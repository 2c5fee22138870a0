"""The engine reading a delta source (engine/source_mirror.py): real cycles against a real
``scimhub serve``, fed by a scripted source registered in ``SOURCES`` that answers what an
LDAP or SCIM source can: a complete snapshot, deltas (changes, ``removed``, ``present``,
``unchanged``), a failed read. The cycle must run over the whole mirror, follow references by
id (a removed user leaves its group and its reports' ``manager`` without the group changing,
as OpenLDAP's refint overlay does it), and move the watermark only after a successful read."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, cast

import click
import pytest

from scimhub.cli.sync import print_summary
from scimhub.engine.config import JobConfig, SourceConfig, load_jobs
from scimhub.engine.cycle.summary import CycleSummary
from scimhub.engine.errors import SourceCredentialsRejected, SourceError
from scimhub.engine.on_demand import provision_user
from scimhub.engine.runner import run_once
from scimhub.engine.sources import SOURCES
from scimhub.engine.sources.base import (
    Snapshot,
    SourceCheck,
    SourceKind,
    SourceWarning,
    Watermark,
)
from scimhub.engine.sources.directory import Directory
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.provisioning import EngineState
from tests.e2e.server import ServerProcess
from tests.engine.test_engine_e2e import ENTERPRISE, Job, person, target  # noqa: F401

Answer = Callable[[Watermark | None], Snapshot]


class ScriptedSource:
    """A delta source whose next answer the test sets; it records what it was asked."""

    def __init__(self) -> None:
        self.description = "scripted"
        self.asked: list[Watermark | None] = []
        self.answer: Answer = lambda since: Snapshot(Directory(), "w0")

    async def read(self, since: Watermark | None = None) -> Snapshot:
        self.asked.append(since)
        return self.answer(since)

    async def check(self) -> list[SourceCheck]:
        return [SourceCheck("scripted", True, "ok")]


def people(prefix: str) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    users = {u["objectId"]: u for u in (
        person("u1", "Ada", "Lovelace"),
        person("u2", "Grace", "Hopper", manager="u1"),
        person("u3", "Alan", "Turing", assigned=False),  # in scope through g1
        person("u6", "Donald", "Knuth"),
    )}
    for u in users.values():
        u["userPrincipalName"] = f"{prefix}-{u['userPrincipalName']}"
    groups = {"g1": {"objectId": "g1", "displayName": f"{prefix} pioneers", "assigned": True,
                     "members": ["u1", "u2", "u3"]}}
    return users, groups


def delta(watermark: str, users: Sequence[dict[str, Any]] = (),
          *, removed: AbstractSet[tuple[SourceKind, str]] = frozenset(),
          present: AbstractSet[tuple[SourceKind, str]] | None = None, unchanged: bool = False,
          stats: dict[str, int] | None = None) -> Answer:
    def answer(since: Watermark | None) -> Snapshot:
        assert since is not None, "a delta answers a watermark"
        return Snapshot(Directory({u["objectId"]: u for u in users}), watermark, complete=False,
                        removed=frozenset(removed),
                        present=frozenset(present) if present is not None else None,
                        unchanged=unchanged, stats=stats or {})
    return answer


class Setup:
    def __init__(self, target: ServerProcess, tmp_path: Path,  # noqa: F811
                 monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
        self.job = Job(target, tmp_path)
        self.source = ScriptedSource()
        monkeypatch.setitem(SOURCES, "scripted", lambda _config: self.source)
        monkeypatch.setenv("SCIMHUB_TARGET_TOKEN", self.job.token)
        [loaded] = load_jobs(tmp_path / "job.toml")
        self.config: JobConfig = dataclasses.replace(loaded, source=SourceConfig(
            cast(Any, "scripted"), None, {"type": "scripted", "url": "ldap://directory"}))
        self.db = Database(f"sqlite:///{tmp_path}/engine.db")
        migrate(self.db)
        self.state = EngineState(self.db)
        self.users, self.groups = people(prefix)
        self.prefix = prefix

    def complete(self, watermark: str) -> Answer:
        return lambda since: Snapshot(Directory(dict(self.users), dict(self.groups)), watermark)

    def cycle(self, answer: Answer, *, dry_run: bool = False) -> CycleSummary:
        self.source.answer = answer
        summary = asyncio.run(run_once(self.config, self.db, dry_run=dry_run))
        assert summary.failures == 0, summary.to_dict()
        return summary

    def upn(self, first: str) -> str:
        return f"{self.prefix}-{first}@contoso.example"

    @property
    def job_id(self) -> str:
        found = self.state.job(self.config.name)
        assert found is not None
        return found.id

    def watermark(self) -> str | None:
        stored = self.state.source_state(self.job_id)
        return stored.watermark if stored else None


def test_deltas_apply_to_the_mirror_and_cycles_run_over_all_of_it(
        target: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    s = Setup(target, tmp_path, monkeypatch, "delta")
    first = s.cycle(s.complete("w1"))
    assert s.source.asked == [None] and first.kind == "initial"
    assert first.source == {"kind": "complete", "fetched": 5, "listed": 0}
    assert s.watermark() == "w1" and len(s.state.load_mirror(s.job_id)) == 5
    users = s.job.users()
    ada_id = users[s.upn("ada")]["id"]
    assert users[s.upn("grace")][ENTERPRISE]["manager"]["value"] == ada_id

    # A change and a new hire: only they come back, the others stay as they are.
    renamed = {**s.users["u1"], "surname": "King"}
    hire = person("u7", "Margaret", "Hamilton", userPrincipalName=s.upn("margaret"))
    second = s.cycle(delta("w2", [renamed, hire], stats={"fetched": 2, "listed": 0}))
    assert s.source.asked[-1] == "w1" and second.kind == "incremental"
    assert second.source == {"kind": "delta", "fetched": 2, "listed": 0}
    assert dict(second.counts) == {"create": 1, "update": 1}, second.to_dict()
    users = s.job.users()
    assert users[s.upn("ada")]["name"]["familyName"] == "King"
    assert users[s.upn("margaret")]["active"] is True
    assert all(users[s.upn(n)]["active"] for n in ("grace", "alan", "donald")), (
        "objects absent from a delta are unchanged, not removed")
    assert s.watermark() == "w2"

    # A removal named one by one.
    s.cycle(delta("w3", removed={("user", "u6")}))
    assert s.job.users()[s.upn("donald")]["active"] is False, "removed: soft-deleted"
    assert ("user", "u6") not in s.state.load_mirror(s.job_id)

    # A removal found by the id-only listing: Ada leaves, and nothing else comes back, not
    # even her group or Grace, whose entries the directory rewrote without a new stamp.
    listing: set[tuple[SourceKind, str]] = {("user", "u2"), ("user", "u3"), ("user", "u7"),
                                            ("group", "g1")}
    fourth = s.cycle(delta("w4", present=listing, stats={"fetched": 0, "listed": 4}))
    assert fourth.source == {"kind": "delta", "fetched": 0, "listed": 4}
    users = s.job.users()
    assert users[s.upn("ada")]["active"] is False
    assert "manager" not in users[s.upn("grace")].get(ENTERPRISE, {}), (
        "the manager left the directory: Grace's manager is removed")
    assert s.job.groups()[f"{s.prefix} pioneers"] == {s.upn("grace"), s.upn("alan")}
    assert s.state.load_mirror(s.job_id)[("group", "g1")]["members"] == ["u1", "u2", "u3"], (
        "the mirror keeps what the source said; the cycle's view leaves the reference out")

    # Nothing changed: the mirror is reused and nothing is written.
    fifth = s.cycle(delta("w5", unchanged=True, stats={"fetched": 0, "listed": 0}))
    assert fifth.source is not None and fifth.source["kind"] == "unchanged"
    assert dict(fifth.counts) == {} and fifth.requests <= 3, fifth.to_dict()
    assert s.watermark() == "w5"


def test_a_failed_read_moves_nothing_and_restart_reads_everything(
        target: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    s = Setup(target, tmp_path, monkeypatch, "fail")
    s.cycle(s.complete("w1"))
    before, mirror = s.job.users(), s.state.load_mirror(s.job_id)

    def broken(since: Watermark | None) -> Snapshot:
        raise SourceError("the server ended the paged search early (sizeLimitExceeded)")

    s.source.answer = broken
    with pytest.raises(SourceError, match="sizeLimitExceeded"):
        asyncio.run(run_once(s.config, s.db))
    assert s.source.asked[-1] == "w1"
    assert s.job.users() == before, "a failed read deprovisions nothing"
    assert s.watermark() == "w1" and s.state.load_mirror(s.job_id) == mirror

    # A delta after the failure starts from the same watermark.
    s.cycle(delta("w2", [{**s.users["u3"], "surname": "Turing-Smith"}]))
    assert s.source.asked[-1] == "w1"

    s.state.restart(s.job_id)
    assert s.watermark() is None
    s.users["u3"] = {**s.users["u3"], "surname": "Turing-Smith"}
    again = s.cycle(s.complete("w9"))
    assert s.source.asked[-1] is None, "after a restart the whole directory is read"
    assert again.kind == "initial" and again.source is not None
    assert again.source["kind"] == "complete" and s.watermark() == "w9"


def test_a_dry_run_and_provision_on_demand_read_a_delta_and_save_nothing(
        target: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    s = Setup(target, tmp_path, monkeypatch, "dry")
    s.cycle(s.complete("w1"))
    mirror = s.state.load_mirror(s.job_id)
    hire = person("u9", "Frances", "Allen", userPrincipalName=s.upn("frances"))
    plan = s.cycle(delta("w2", [hire]), dry_run=True)
    assert s.source.asked[-1] == "w1"
    assert [(p["action"], p["identity"]) for p in plan.planned] == [("create", s.upn("frances"))]
    assert s.watermark() == "w1" and s.state.load_mirror(s.job_id) == mirror
    assert s.upn("frances") not in s.job.users()

    s.source.answer = delta("w2", [hire])
    report = asyncio.run(provision_user(s.config, s.db, "u9"))
    assert report.ok, report.to_dict()
    assert s.source.asked[-1] == "w1", "on demand reads what changed, not the directory"
    assert s.upn("frances") in s.job.users()
    assert s.watermark() == "w1" and s.state.load_mirror(s.job_id) == mirror, (
        "on demand leaves the cycle's watermark alone: the next cycle reads the change too")


def test_a_file_source_keeps_no_mirror_and_sync_prints_what_was_read(
        target: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    job = Job(target, tmp_path)
    data = job.sync("--dry-run")
    assert data["source"] == {"kind": "complete", "fetched": 8, "listed": 0}
    summary = CycleSummary("c1", "hr", "incremental", False,
                           source={"kind": "delta", "fetched": 12, "listed": 101000})
    with click.Context(click.Command("sync")):
        print_summary(summary, as_json=False)
    assert "source: delta read, 12 fetched, 101000 listed" in capsys.readouterr().out
    job.sync()
    db = Database(f"sqlite:///{tmp_path}/engine.db")
    state = EngineState(db)
    found = state.job("acunetix-360")
    assert found is not None and state.source_state(found.id) is None
    assert state.load_mirror(found.id) == {}


def test_a_refused_bind_quarantines_and_bad_entries_are_logged_against_their_object(
        target: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """A refused bind fails every cycle until someone fixes it: quarantined like a refused
    target token, the watermark unmoved. Bad input is logged against its object and spares
    it: a complete read that skipped an entry does not deprovision that person."""
    s = Setup(target, tmp_path, monkeypatch, "bind")
    s.cycle(s.complete("w1"))

    def refused(since: Watermark | None) -> Snapshot:
        raise SourceCredentialsRejected("ldap://directory: the bind as cn=scimhub was refused "
                                        "(invalidCredentials)")

    s.source.answer = refused
    with pytest.raises(SourceCredentialsRejected):
        asyncio.run(run_once(s.config, s.db))
    found = s.state.job(s.config.name)
    assert found is not None and found.state.quarantine_reason is not None
    assert found.state.quarantine_reason.startswith("SourceCredentialsRejected: ")
    assert s.watermark() == "w1"

    bad = SourceWarning("user", "u6", "jpegPhoto: a value that does not decode")
    users = {k: v for k, v in s.users.items() if k != "u6"}
    healed = s.cycle(lambda since: Snapshot(Directory(users, dict(s.groups)), "w2",
                                            warnings=(bad,)))
    found = s.state.job(s.config.name)
    assert found is not None and found.state.quarantine_reason is None, "a good read releases"
    assert healed.source is not None and healed.source["warnings"] == 1
    assert s.job.users()[s.upn("donald")]["active"] is True, "skipped, not removed"
    [entry] = s.state.search_log(s.job_id, cycle_id=healed.cycle_id, status="failure")
    assert (entry["source_id"], entry["error_code"]) == ("u6", "InvalidSourceData")
    assert "does not decode" in entry["detail"]
