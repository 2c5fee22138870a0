"""The mirror of a delta source and its watermark (migration 0009), on SQLite and PostgreSQL:
saved in one transaction, only the rows named, replaced whole when asked, cleared by restart
and reset, private to each job."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.store.database import Database
from scimhub.store.provisioning import EngineState, SourceState
from scimhub.store.sql import Tx

URL = "https://app.example/scim/v2"
LDAP = SourceState("ldap", "f" * 64, "csn-1")


@pytest.fixture()
def state(db: Database) -> EngineState:
    return EngineState(db)


def user(uid: str, **values: Any) -> dict[str, Any]:
    return {"objectId": uid, "userPrincipalName": f"{uid}@contoso.example", **values}


def test_a_saved_mirror_and_watermark_read_back_as_saved(state: EngineState) -> None:
    job = state.ensure_job("hr", URL, "a" * 64).id
    assert state.source_state(job) is None and state.load_mirror(job) == {}
    state.save_source(job, LDAP, changed={
        ("user", "u1"): user("u1", manager="u2", accountEnabled=True),
        ("user", "u2"): user("u2"),
        ("group", "g1"): {"objectId": "g1", "displayName": "Sales", "members": ["u1", "u2"]},
    }, replace=True)
    assert state.source_state(job) == LDAP
    mirror = state.load_mirror(job)
    assert mirror[("user", "u1")] == user("u1", manager="u2", accountEnabled=True)
    assert mirror[("group", "g1")]["members"] == ["u1", "u2"]
    assert set(mirror) == {("user", "u1"), ("user", "u2"), ("group", "g1")}


def test_a_delta_writes_only_the_rows_it_names(state: EngineState) -> None:
    job = state.ensure_job("hr", URL, "a" * 64).id
    state.save_source(job, LDAP, changed={("user", f"u{i}"): user(f"u{i}") for i in range(5)},
                      replace=True)
    later = SourceState("ldap", "f" * 64, "csn-2")
    state.save_source(job, later, changed={("user", "u1"): user("u1", department="Sales"),
                                           ("user", "u9"): user("u9")},
                      removed=[("user", "u3")])
    mirror = state.load_mirror(job)
    assert set(mirror) == {("user", u) for u in ("u0", "u1", "u2", "u4", "u9")}
    assert mirror[("user", "u1")]["department"] == "Sales"
    assert mirror[("user", "u2")] == user("u2")
    assert state.source_state(job) == later


def test_replace_drops_every_row_the_new_mirror_does_not_hold(state: EngineState) -> None:
    job = state.ensure_job("hr", URL, "a" * 64).id
    state.save_source(job, LDAP, changed={("user", "u1"): user("u1")}, replace=True)
    other = SourceState("ldap", "e" * 64, "csn-9")
    state.save_source(job, other, changed={("user", "x1"): user("x1")}, replace=True)
    assert set(state.load_mirror(job)) == {("user", "x1")}
    assert state.source_state(job) == other


def test_the_watermark_and_the_rows_are_one_transaction(
        state: EngineState, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the rows were written (the watermark's statement comes last) leaves
    neither the rows nor the new watermark: a watermark past changes the mirror never got
    would lose them for good."""
    job = state.ensure_job("hr", URL, "a" * 64).id
    state.save_source(job, LDAP, changed={("user", "u1"): user("u1")}, replace=True)
    execute = Tx.execute

    def refuse(tx: Tx, stmt: Any, params: Any = None) -> Any:
        if stmt is state._upsert_source:
            raise RuntimeError("the database went away")
        return execute(tx, stmt, params)

    monkeypatch.setattr(Tx, "execute", refuse)
    with pytest.raises(RuntimeError, match="went away"):
        state.save_source(job, SourceState("ldap", "f" * 64, "csn-2"),
                          changed={("user", "u2"): user("u2")}, removed=[("user", "u1")])
    monkeypatch.undo()
    assert set(state.load_mirror(job)) == {("user", "u1")}
    assert state.source_state(job) == LDAP


def test_restart_and_reset_clear_the_watermark_and_the_mirror(state: EngineState) -> None:
    """Entra's restart clears the watermark: the next cycle reads the whole directory."""
    for clear in (state.restart, state.reset):
        job = state.ensure_job(f"hr-{clear.__name__}", URL, "a" * 64).id
        state.save_source(job, LDAP, changed={("user", "u1"): user("u1")}, replace=True)
        clear(job)
        assert state.source_state(job) is None, clear.__name__
        assert state.load_mirror(job) == {}, clear.__name__


def test_each_job_has_its_own_mirror(state: EngineState) -> None:
    hr = state.ensure_job("hr", URL, "a" * 64).id
    it = state.ensure_job("it", URL, "a" * 64).id
    state.save_source(hr, LDAP, changed={("user", "u1"): user("u1")}, replace=True)
    state.save_source(it, LDAP, changed={("user", "u2"): user("u2")}, replace=True)
    state.clear_source(hr)
    assert state.load_mirror(hr) == {} and set(state.load_mirror(it)) == {("user", "u2")}
    assert state.source_state(it) == LDAP
