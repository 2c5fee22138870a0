"""Migration 0008 on SQLite and PostgreSQL: a log entry keeps Entra's steps and a known object
keeps when it left the source (the soft delete's start), and entries written before 0008 read
back with no steps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.provisioning import EngineState, Known, LogEntry, Step
from tests.store.migrated import database_at

URL = "https://app.example/scim/v2"
STEPS: tuple[Step, ...] = (
    {"step": "import", "outcome": "success", "reason": "read from the source"},
    {"step": "scope", "outcome": "skipped", "reason": "department EQUALS 'Sales' is false"},
)


@pytest.fixture()
def state(db: Database) -> EngineState:
    return EngineState(db)


def test_a_log_entry_keeps_its_steps_in_order(state: EngineState) -> None:
    job = state.ensure_job("hr", URL, "d" * 64).id
    cycle = state.start_cycle(job, "initial", "f", URL, "d" * 64)
    state.write_log(job, cycle, [
        LogEntry("user", "u1", None, "ada", "skip", "skipped", "NotEffectivelyEntitled",
                 steps=STEPS),
        LogEntry("user", "u2", "t2", "bob", "create", "success")])
    entries = {e["identity"]: e for e in state.search_log(job)}
    assert entries["ada"]["steps"] == list(STEPS)
    assert entries["bob"]["steps"] == []


def test_a_known_object_keeps_when_it_left_the_source(state: EngineState) -> None:
    job = state.ensure_job("hr", URL, "d" * 64).id
    state.save_objects(job, [Known("user", "u1", "t1", "h", {}, False,
                                   gone_since="2026-01-02T03:04:05Z"),
                             Known("user", "u2", "t2", "h", {}, True)])
    known = state.load_objects(job)
    assert known[("user", "u1")].gone_since == "2026-01-02T03:04:05Z"
    assert known[("user", "u2")].gone_since is None
    # Back in the source: the upsert clears it.
    state.save_objects(job, [Known("user", "u1", "t1", "h", {}, True)])
    assert state.load_objects(job)[("user", "u1")].gone_since is None


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0007(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database migrated up to 0007 only, as before the steps."""
    with database_at("0007", request.param, tmp_path) as database:
        yield database


def test_migration_0008_keeps_existing_rows(at_0007: Database) -> None:
    with at_0007.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO prov_jobs (id, name, state, allow_deletes, updated) "
                             "VALUES ('j1', 'hr', 'enabled', false, '2026')"))
        conn.execute(sa.text("INSERT INTO prov_objects (job_id, kind, source_id, target_id, "
                             "in_scope, updated, attempts) "
                             "VALUES ('j1', 'user', 'u1', 't1', true, '2026', 0)"))
        conn.execute(sa.text("INSERT INTO prov_log (job_id, cycle_id, at, kind, identity, "
                             "action, status) VALUES ('j1', 'c1', '2026', 'user', 'ada', "
                             "'create', 'success')"))
    migrate(at_0007)
    state = EngineState(at_0007)
    assert state.load_objects("j1")[("user", "u1")].gone_since is None
    [entry] = state.search_log("j1")
    assert (entry["identity"], entry["steps"]) == ("ada", [])
