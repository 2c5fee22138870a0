"""The Source contract (engine/sources/base.py): what a directory yields, the file source as
its first implementation, and ``open_source``'s registry by ``[source] type``, through which
a new source reaches a real cycle without touching the runner."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from pathlib import Path
from typing import Any, cast

import pytest

from scimhub.engine.config import ConfigError, SourceConfig, load_jobs
from scimhub.engine.errors import EngineError, SourceError
from scimhub.engine.runner import run_once
from scimhub.engine.sources import SOURCES, FileSource, open_source
from scimhub.engine.sources.base import Snapshot, Source, Watermark
from scimhub.engine.sources.directory import Directory
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from tests.e2e.server import ServerProcess
from tests.engine.test_engine_e2e import Job, config, directory, person, target  # noqa: F401


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_the_file_source_reads_a_complete_snapshot_keyed_by_object_id(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", directory())
    source = open_source(SourceConfig("file", path))
    assert isinstance(source, FileSource) and isinstance(source, Source)
    assert source.description == str(path)
    snapshot = asyncio.run(source.read(None))
    assert snapshot.complete and snapshot.removed == frozenset()
    assert set(snapshot.directory.users) == {"u1", "u2", "u3", "u4", "u5", "u6"}
    assert snapshot.directory.users["u2"]["manager"] == "u1"
    assert snapshot.directory.groups["g1"]["members"] == ["u1", "u2", "u3"]
    assert snapshot.directory.assigned_users() == {"u1", "u2", "u3", "u4", "u6"}
    assert snapshot.watermark is not None


def test_the_file_source_answers_everything_even_given_a_watermark(tmp_path: Path) -> None:
    """A file holds no history: asked for changes, it still answers a complete snapshot,
    whose watermark changes with the file."""
    path = write(tmp_path / "d.json", directory())
    source = FileSource(path)
    first = asyncio.run(source.read(None))
    assert asyncio.run(source.read(first.watermark)) == first
    data = directory()
    data["users"] = data["users"][:2]
    write(path, data)
    os.utime(path, ns=(1, 1))  # a stamp of its own, whatever the clock's resolution
    second = asyncio.run(source.read(first.watermark))
    assert second.complete and set(second.directory.users) == {"u1", "u2"}
    assert second.watermark != first.watermark


def test_source_errors_are_engine_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        asyncio.run(open_source(SourceConfig("file", tmp_path / "missing.json")).read(None))
    with pytest.raises(EngineError, match="not supported"):
        open_source(SourceConfig(cast(Any, "workday"), tmp_path))


def test_a_job_file_naming_an_unknown_source_type_gets_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "job.toml").write_text(
        config("https://app.example/scim/v2")
        .replace('type = "file"', 'type = "workday"'))
    with pytest.raises(ConfigError, match="source type 'workday' is not supported: use one "
                                          "of 'file', 'ldap', 'scim'"):
        load_jobs(tmp_path / "job.toml")


def test_a_complete_snapshot_names_no_removed_objects() -> None:
    with pytest.raises(ValueError, match="complete"):
        Snapshot(Directory(), removed=frozenset({("user", "u1")}))
    delta = Snapshot(Directory(), "w2", complete=False, removed=frozenset({("user", "u1")}))
    assert not delta.complete


class MemorySource:
    """A source of another type, as the next one (LDAP, SCIM) will be: one class."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.description = "memory"
        self.asked: list[Watermark | None] = []

    async def read(self, since: Watermark | None = None) -> Snapshot:
        self.asked.append(since)
        found = Directory({u["objectId"]: u for u in self.data["users"]},
                          {g["objectId"]: g for g in self.data["groups"]})
        return Snapshot(found, "memory-1")


def test_a_registered_source_type_feeds_a_real_cycle(
        target: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The runner reads through ``open_source``: a new type registered in ``SOURCES`` is
    provisioned into a real ``scimhub serve`` without any other change (the file named in
    the job does not even exist)."""
    job = Job(target, tmp_path)
    (tmp_path / "directory.json").unlink()
    data = {"users": [person("m1", "Mary", "Jackson")], "groups": []}
    data["users"][0]["userPrincipalName"] = "memory-mary@contoso.example"
    memory = MemorySource(data)
    monkeypatch.setitem(SOURCES, "memory", lambda _config: memory)
    monkeypatch.setenv("SCIMHUB_TARGET_TOKEN", job.token)
    [loaded] = load_jobs(tmp_path / "job.toml")
    loaded = dataclasses.replace(loaded, source=SourceConfig(cast(Any, "memory"),
                                                             tmp_path / "directory.json"))
    db = Database(f"sqlite:///{tmp_path}/engine.db")
    migrate(db)
    summary = asyncio.run(run_once(loaded, db))
    assert summary.counts["create"] == 1 and summary.failures == 0, summary.to_dict()
    assert memory.asked == [None], "everything, for the cycle decides what changed"
    assert "memory-mary@contoso.example" in job.users()
