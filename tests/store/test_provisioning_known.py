"""``Known``, the engine's memory of one object, kept small (a million of them stay in memory
through a cycle): ``sent`` packed as JSON text, and the state read back in batches, on SQLite and
PostgreSQL."""

from __future__ import annotations

import tracemalloc

import pytest

from scimhub.store.database import Database
from scimhub.store.provisioning import EngineState, Known, KnownObjects

URL = "https://app.example/scim/v2"
SENT = {"userName": "ada.lovelace.0@contoso.example", "active": True,
        'emails[type eq "work"].value': "ada.lovelace.0@contoso.example",
        "name.givenName": "Ada", "name.familyName": "Lovelace",
        'phoneNumbers[type eq "mobile"].value': "+1 555 0000000"}


def test_sent_reads_back_what_was_assigned_and_a_copy_changed_in_place_is_not_kept() -> None:
    known = Known("user", "u1", "t1", "h", SENT, True)
    assert known.sent == SENT and known.sent is not known.sent
    known.sent["userName"] = "changed in place"
    assert known.sent == SENT
    known.sent = {**known.sent, "active": False}
    assert known.sent["active"] is False
    known.sent = {}
    assert known.sent == {} and known.sent_json() == "{}"
    assert Known("user", "u1", None, None) == Known("user", "u1", None, None, {}, False)
    assert Known("user", "u1", "t1", "h", SENT) != Known("user", "u1", "t1", "h", {})
    assert "ada.lovelace.0" in repr(Known("user", "u1", "t1", "h", SENT))


def test_a_known_object_holds_well_under_a_kilobyte() -> None:
    """orjson's bytes keep the 4 KB buffer they were written into: a million of them took
    gigabytes. With ids and hash, a typical user, ids and hash included, takes about 520 bytes."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [Known("user", f"user-{i:06}", f"{i:08}-1111-2222-3333-444444444444",
                      f"{i:064}", dict(SENT), True) for i in range(1000)]
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(held) == 1000
    assert used < 1000 * 600, used


def test_objects_are_saved_and_read_back_in_batches(db: Database) -> None:
    """More rows than one fetch (1,000), every column as saved."""
    state = EngineState(db)
    job = state.ensure_job("big", URL)
    objects = [Known("user", f"u{i}", f"t{i}", f"h{i}", {**SENT, "n": i}, i % 2 == 0,
                     i % 3, "2030-01-01T00:00:00Z" if i % 3 else None,
                     "2029-01-01T00:00:00Z" if i % 5 == 0 else None) for i in range(2500)]
    state.save_objects(job.id, objects)
    loaded = state.load_objects(job.id)
    assert len(loaded) == 2500
    assert all(loaded[("user", o.source_id)] == o for o in objects)


@pytest.mark.parametrize("sent", [{}, {"members": [{"value": "ü"}], "nested": {"a": None}}])
def test_any_json_sent_round_trips(db: Database, sent: dict[str, object]) -> None:
    state = EngineState(db)
    job = state.ensure_job("j", URL)
    state.save_objects(job.id, [Known("group", "g1", "t1", "h", sent, True)])
    assert state.load_objects(job.id)[("group", "g1")].sent == sent


def test_known_objects_map_kind_and_id_like_a_dict() -> None:
    known = KnownObjects()
    ada, team = Known("user", "u1", "t1", "h"), Known("group", "u1", "t2", "h")
    known[("user", "u1")] = ada
    known[("group", "u1")] = team
    assert known[("user", "u1")] is ada and known.get(("group", "u1")) is team
    assert ("user", "u1") in known and ("user", "u2") not in known and ("x", "u1") not in known
    assert known.get(("user", "u2")) is None and len(known) == 2
    assert sorted(known) == [("group", "u1"), ("user", "u1")]
    assert dict(known.items()) == {("user", "u1"): ada, ("group", "u1"): team}
    assert known.pop(("user", "u1")) is ada and known.pop(("user", "u1"), None) is None
    assert list(known.values()) == [team]
    with pytest.raises(KeyError):
        known[("user", "u1")]
