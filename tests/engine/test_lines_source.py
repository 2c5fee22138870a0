"""The file source's JSON Lines form (engine/sources/lines.py): the same directory as the JSON
form, bad lines named by number, and objects kept on disk, parsed each time they are read."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import orjson
import pytest

from scimhub.engine.sample import sample_directory, write_sample_lines
from scimhub.engine.sources.directory import SourceError
from scimhub.engine.sources.file import load_file
from scimhub.engine.sources.lines import LineIndex


def test_the_sample_as_lines_is_the_sample_as_json(tmp_path: Path) -> None:
    write_sample_lines(tmp_path / "d.jsonl", 300, 20, 15)
    (tmp_path / "d.json").write_bytes(orjson.dumps(sample_directory(300, 20, 15)))
    lines, whole = load_file(tmp_path / "d.jsonl"), load_file(tmp_path / "d.json")
    assert isinstance(lines.users, LineIndex)
    assert dict(lines.users) == dict(whole.users)
    assert {g: {k: v for k, v in o.items() if k != "objectType"}
            for g, o in lines.groups.items()} == dict(whole.groups)
    assert lines.assigned_users() == whole.assigned_users()


def test_blank_lines_are_skipped_and_an_object_set_in_memory_shadows_its_line(
        tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"objectId": "u1", "mail": "a@x"}\n\n'
                    '{"objectId": "g1", "objectType": "Group", "members": ["u1"]}\n')
    directory = load_file(path)
    assert list(directory.users) == ["u1"] and list(directory.groups) == ["g1"]
    directory.users["u1"] = {"objectId": "u1", "mail": "b@x"}
    directory.users["u2"] = {"objectId": "u2"}
    assert directory.users["u1"]["mail"] == "b@x" and len(directory.users) == 2
    del directory.users["u2"]
    assert "u2" not in directory.users


def test_objects_are_not_held_in_memory(tmp_path: Path) -> None:
    """What the index keeps per object is its place in the file, not the object: 2,000 users
    of ~400 bytes of JSON each index in well under 200 bytes apiece."""
    write_sample_lines(tmp_path / "d.jsonl", 2000, 0, 0)
    tracemalloc.start()
    try:
        directory = load_file(tmp_path / "d.jsonl")
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(directory.users) == 2000
    assert held < 2000 * 200, held
    assert directory.users["user-001999"]["employeeId"] == "E001999"


@pytest.mark.parametrize(("text", "message"), [
    ('{"objectId": "u1"}\nnot json\n', "line 2: not valid JSON"),
    ('{"objectId": "u1"}\n[1]\n', "line 2: expected an object"),
    ('{"mail": "a@x"}\n', "line 1: objectId is missing"),
    ('{"objectId": "u1"}\n{"objectId": "u1"}\n', "line 2: objectId u1 appears twice"),
    ('{"objectId": "g1", "objectType": "Group", "members": "u1"}\n',
     "line 1 (g1): 'members' must be an array"),
])
def test_bad_lines_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(text)
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_file(path)


def test_a_user_and_a_group_may_share_an_object_id(tmp_path: Path) -> None:
    """As in the JSON form, users and groups are separate namespaces."""
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"objectId": "x"}) + "\n"
                    + json.dumps({"objectId": "x", "objectType": "Group"}) + "\n")
    directory = load_file(path)
    assert "x" in directory.users and "x" in directory.groups
