"""CSV exports of the provisioning log neutralise what a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import json

import pytest

from scimhub.engine.expressions import Redacted
from scimhub.engine.log_export import EXPORT_COLUMNS, safe_cell, write_csv


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1",
                                  '=HYPERLINK("https://evil.example","x")'])
def test_formula_starts_get_a_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["ada@contoso.example", "a=b", "", None, 42, -3, "'=x"])
def test_other_cells_are_unchanged(value: object) -> None:
    assert safe_cell(value) == value


def test_every_column_of_every_row_is_neutralised() -> None:
    out = io.StringIO()
    entry = dict.fromkeys(EXPORT_COLUMNS, "=cmd|' /C calc'!A0")
    write_csv(out, [entry, {"identity": "plain"}])
    header, first, second = csv.reader(io.StringIO(out.getvalue()))
    assert header == EXPORT_COLUMNS
    assert all(cell == "'=cmd|' /C calc'!A0" for cell in first)
    assert second[EXPORT_COLUMNS.index("identity")] == "plain"


def test_modified_properties_and_steps_are_json_cells() -> None:
    """Issue 11: the export carries what was modified and Entra's steps, one row per entry."""
    out = io.StringIO()
    modified = [{"attribute": "title", "old": None, "new": "=1+1"}]
    steps = [{"step": "match", "outcome": "success", "reason": "userName eq \"ada\""}]
    write_csv(out, [{"identity": "ada", "modified": modified, "steps": steps}])
    header, row = csv.reader(io.StringIO(out.getvalue()))
    assert header[-2:] == ["modified", "steps"]
    cells = dict(zip(header, row, strict=True))
    assert json.loads(cells["modified"]) == modified and json.loads(cells["steps"]) == steps


def test_a_redacted_value_is_never_expanded() -> None:
    secret = Redacted("secretnick")
    out = io.StringIO()
    write_csv(out, [{"identity": secret,
                     "modified": [{"attribute": "nickName", "old": None, "new": secret}]}])
    assert "secretnick" not in out.getvalue()
    _, row = csv.reader(io.StringIO(out.getvalue()))
    assert row[EXPORT_COLUMNS.index("identity")] == "[Redact]"
    assert json.loads(row[EXPORT_COLUMNS.index("modified")])[0]["new"] == "[Redact]"
