"""The file source: JSON and CSV exports, and bad data reported with the place at fault."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scimhub.engine.sources.directory import SourceError
from scimhub.engine.sources.file import load_file


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_directory_with_assignment_through_groups(tmp_path: Path) -> None:
    path = write(tmp_path, "d.json", json.dumps({
        "users": [{"objectId": "u1", "assigned": True}, {"objectId": "u2"},
                  {"objectId": "u3"}],
        "groups": [{"objectId": "g1", "assigned": True, "members": ["u2", "missing"]},
                   {"objectId": "g2", "members": ["u3"]}]}))
    directory = load_file(path)
    assert set(directory.users) == {"u1", "u2", "u3"}
    assert directory.assigned_users() == {"u1", "u2"}


def test_csv_users_with_booleans(tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", "objectId,userPrincipalName,accountEnabled,assigned,mobile\n"
                                    "u1,a@x,true,TRUE,\nu2,b@x,false,false,555\n")
    directory = load_file(path)
    assert directory.users["u1"] == {"objectId": "u1", "userPrincipalName": "a@x",
                                     "accountEnabled": True, "assigned": True}
    assert directory.users["u2"]["accountEnabled"] is False
    assert directory.users["u2"]["mobile"] == "555"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("d.json", "{not json", "not valid JSON"),
    ("d.json", '{"users": [{"mail": "x"}]}', "users[0]: objectId is missing"),
    ("d.json", '{"users": [{"objectId": "a"}, {"objectId": "a"}]}',
     "users[1]: objectId a appears twice"),
    ("d.json", '{"groups": [{"objectId": "g", "members": "u1"}]}', "groups[0] (g): 'members'"),
    ("d.json", '[]', "expected an object"),
    ("u.csv", "mail\nx\n", "line 1: the header needs an objectId column"),
    ("u.csv", "objectId,mail\na,x\n,y\n", "line 3: objectId is missing"),
])
def test_bad_source_data_names_the_place(tmp_path: Path, name: str, text: str,
                                         message: str) -> None:
    with pytest.raises(SourceError, match=re.escape(message)):
        load_file(write(tmp_path, name, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        load_file(tmp_path / "nope.json")
