"""CSV exports of the provisioning log neutralise what a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest

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
